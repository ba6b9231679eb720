// Escaping helpers shared by the views.
#pragma once
#include <string>
#include <vector>

namespace int8attn {

// & < > " ' -> entities; safe in HTML/XML text and quoted attributes. Control characters
// other than tab/newline (invalid in XML 1.0) become U+FFFD.
std::string xml_escape(const std::string& text);
inline std::string html_escape(const std::string& text) { return xml_escape(text); }

// RFC 4180 field: quoted (with "" for ") when it holds a comma, quote, CR or LF.
std::string csv_field(const std::string& text);

// One RFC 4180 record: the cells as csv_field writes them, joined by commas, ended by CRLF.
std::string csv_line(const std::vector<std::string>& cells);

}  // namespace int8attn
