// Fuzz target: reports. Only ReportError may come out of reading; what reads must render in
// every format.
#include "src/report/json_io.h"
#include "src/report/render.h"
#include "tests/fuzz/fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace int8attn;
  try {
    const Report report =
        report_from_json(parse_report_text(std::string(reinterpret_cast<const char*>(data), size), "fuzz.json"),
                         "fuzz.json");
    for (auto format : {ReportFormat::Table, ReportFormat::Markdown, ReportFormat::Csv, ReportFormat::Html}) {
      render_report(report, format);
    }
  } catch (const ReportError&) {
  }
  return 0;
}
