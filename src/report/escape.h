// Escaping helpers shared by the views.
#pragma once
#include <string>

namespace int8attn {

// & < > " ' -> entities; safe in HTML/XML text and quoted attributes. Control characters
// other than tab/newline (invalid in XML 1.0) become U+FFFD.
std::string xml_escape(const std::string& text);
inline std::string html_escape(const std::string& text) { return xml_escape(text); }

// RFC 4180 field: quoted (with "" for ") when it holds a comma, quote, CR or LF.
std::string csv_field(const std::string& text);

}  // namespace int8attn
