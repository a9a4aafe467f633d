#include "adapters/http/json_writer.hpp"

#include <charconv>
#include <utility>

#include "events/canonical_json.hpp"

namespace aetherium::http {
namespace {

/// Reads the UTF-8 sequence at `s[i]` (RFC 3629: no overlong forms, no surrogates,
/// nothing above U+10FFFF). Returns its length and whether it is well formed; an
/// ill-formed one's length is its maximal subpart (the bytes that could start a valid
/// sequence, at least one), which gets one U+FFFD as Unicode recommends.
std::pair<std::size_t, bool> utf8_sequence(std::string_view s, std::size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  std::size_t need;
  unsigned char low = 0x80, high = 0xBF; // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) need = 2;
  else if (c >= 0xE0 && c <= 0xEF) {
    need = 3;
    if (c == 0xE0) low = 0xA0;  // overlong
    if (c == 0xED) high = 0x9F; // surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 4;
    if (c == 0xF0) low = 0x90;  // overlong
    if (c == 0xF4) high = 0x8F; // above U+10FFFF
  } else {
    return {1, false};
  }
  for (std::size_t k = 1; k < need; ++k) {
    if (i + k >= s.size()) return {k, false};
    auto b = static_cast<unsigned char>(s[i + k]);
    bool ok = k == 1 ? (b >= low && b <= high) : (b & 0xC0) == 0x80;
    if (!ok) return {k, false};
  }
  return {need, true};
}

} // namespace

void append_json_string(std::string& out, std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    auto [n, valid] = utf8_sequence(text, i);
    if (!valid)
      break;
    i += n;
  }
  if (i == text.size())
    return aetherium::append_json_string(out, text); // well-formed: the common case
  std::string repaired(text.substr(0, i));
  while (i < text.size()) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      repaired += text[i++];
      continue;
    }
    auto [n, valid] = utf8_sequence(text, i);
    if (valid) repaired.append(text.data() + i, n);
    else repaired += "\xEF\xBF\xBD"; // U+FFFD
    i += n;
  }
  aetherium::append_json_string(out, repaired);
}

void json_writer::separate() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (need_comma_) out_ += ',';
}

json_writer& json_writer::open(char bracket) {
  separate();
  out_ += bracket;
  need_comma_ = false;
  return *this;
}

json_writer& json_writer::close(char bracket) {
  out_ += bracket;
  need_comma_ = true;
  return *this;
}

json_writer& json_writer::begin_object() { return open('{'); }
json_writer& json_writer::end_object() { return close('}'); }
json_writer& json_writer::begin_array() { return open('['); }
json_writer& json_writer::end_array() { return close(']'); }

json_writer& json_writer::key(std::string_view name) {
  separate();
  bool plain = true;
  for (char c : name) plain = plain && c >= 0x20 && c != '"' && c != '\\' && static_cast<unsigned char>(c) < 0x80;
  if (plain) {
    out_ += '"';
    out_.append(name);
    out_ += "\":";
  } else {
    append_json_string(out_, name);
    out_ += ':';
  }
  after_key_ = true;
  return *this;
}

json_writer& json_writer::string(std::string_view text) {
  separate();
  append_json_string(out_, text);
  need_comma_ = true;
  return *this;
}

json_writer& json_writer::string_or_null(std::string_view text) { return text.empty() ? null() : string(text); }

template <typename Integer>
json_writer& json_writer::integer(Integer value) {
  separate();
  char buf[24];
  auto end = std::to_chars(buf, buf + sizeof buf, value).ptr;
  out_.append(buf, end);
  need_comma_ = true;
  return *this;
}

json_writer& json_writer::number(std::int64_t value) { return integer(value); }

json_writer& json_writer::number(std::uint64_t value) { return integer(value); }

json_writer& json_writer::boolean(bool value) {
  separate();
  out_ += value ? "true" : "false";
  need_comma_ = true;
  return *this;
}

json_writer& json_writer::null() {
  separate();
  out_ += "null";
  need_comma_ = true;
  return *this;
}

json_writer& json_writer::raw(std::string_view json_text) {
  separate();
  out_.append(json_text);
  need_comma_ = true;
  return *this;
}

} // namespace aetherium::http
