#include "events/canonical_json.hpp"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

namespace aetherium {

namespace {

constexpr int max_depth = 64;

class canonicalizer {
public:
  explicit canonicalizer(std::string_view text) : text_(text) {}

  result<std::string> run() {
    std::string out;
    skip_ws();
    if (!value(out, 0))
      return make_error(errc::invalid_argument, "invalid JSON at byte " + std::to_string(pos_) + ": " + why_);
    skip_ws();
    if (pos_ != text_.size())
      return make_error(errc::invalid_argument, "trailing data at byte " + std::to_string(pos_));
    return out;
  }

private:
  bool fail(const char* why) {
    why_ = why;
    return false;
  }

  void skip_ws() {
    while (pos_ < text_.size()
           && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r'))
      ++pos_;
  }

  bool literal(std::string_view word, std::string& out) {
    if (text_.substr(pos_, word.size()) != word)
      return fail("unexpected token");
    pos_ += word.size();
    out += word;
    return true;
  }

  bool value(std::string& out, int depth) {
    if (depth > max_depth)
      return fail("nesting too deep");
    if (pos_ >= text_.size())
      return fail("unexpected end");
    switch (text_[pos_]) {
      case '{': return object(out, depth);
      case '[': return array(out, depth);
      case '"': {
        std::string decoded;
        if (!string(decoded))
          return false;
        append_json_string(out, decoded);
        return true;
      }
      case 't': return literal("true", out);
      case 'f': return literal("false", out);
      case 'n': return literal("null", out);
      default: return number(out);
    }
  }

  bool object(std::string& out, int depth) {
    ++pos_;
    std::vector<std::pair<std::string, std::string>> members;
    skip_ws();
    if (pos_ < text_.size() && text_[pos_] == '}') {
      ++pos_;
      out += "{}";
      return true;
    }
    for (;;) {
      skip_ws();
      if (pos_ >= text_.size() || text_[pos_] != '"')
        return fail("expected a key");
      std::string key;
      if (!string(key))
        return false;
      skip_ws();
      if (pos_ >= text_.size() || text_[pos_] != ':')
        return fail("expected ':'");
      ++pos_;
      skip_ws();
      std::string member;
      if (!value(member, depth + 1))
        return false;
      members.emplace_back(std::move(key), std::move(member));
      skip_ws();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == '}') {
        ++pos_;
        break;
      }
      return fail("expected ',' or '}'");
    }
    // jsonb's key order: shorter keys first, then bytewise.
    std::sort(members.begin(), members.end(), [](const auto& a, const auto& b) {
      return a.first.size() != b.first.size() ? a.first.size() < b.first.size() : a.first < b.first;
    });
    out += '{';
    for (std::size_t i = 0; i < members.size(); ++i) {
      if (i > 0 && members[i].first == members[i - 1].first)
        return fail("duplicate key");
      if (i > 0)
        out += ", ";
      append_json_string(out, members[i].first);
      out += ": ";
      out += members[i].second;
    }
    out += '}';
    return true;
  }

  bool array(std::string& out, int depth) {
    ++pos_;
    out += '[';
    skip_ws();
    if (pos_ < text_.size() && text_[pos_] == ']') {
      ++pos_;
      out += ']';
      return true;
    }
    for (bool first = true;; first = false) {
      if (!first)
        out += ", ";
      skip_ws();
      if (!value(out, depth + 1))
        return false;
      skip_ws();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == ']') {
        ++pos_;
        out += ']';
        return true;
      }
      return fail("expected ',' or ']'");
    }
  }

  bool digits() {
    auto start = pos_;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9')
      ++pos_;
    return pos_ > start;
  }

  bool number(std::string& out) {
    auto start = pos_;
    if (pos_ < text_.size() && text_[pos_] == '-')
      ++pos_;
    auto int_start = pos_;
    if (!digits())
      return fail("unexpected token");
    if (text_[int_start] == '0' && pos_ - int_start > 1)
      return fail("leading zero");
    bool all_zero = true;
    if (pos_ < text_.size() && text_[pos_] == '.') {
      ++pos_;
      if (!digits())
        return fail("digits expected after '.'");
    }
    for (auto i = int_start; i < pos_; ++i)
      if (text_[i] != '0' && text_[i] != '.')
        all_zero = false;
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E'))
      return fail("numbers with an exponent are not supported");
    if (text_[start] == '-' && all_zero)
      return fail("negative zero is not supported");
    out.append(text_.substr(start, pos_ - start));
    return true;
  }

  bool hex4(std::uint32_t& cp) {
    if (pos_ + 4 > text_.size())
      return fail("short \\u escape");
    cp = 0;
    for (int i = 0; i < 4; ++i) {
      char c = text_[pos_++];
      cp <<= 4;
      if (c >= '0' && c <= '9') cp |= static_cast<std::uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') cp |= static_cast<std::uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') cp |= static_cast<std::uint32_t>(c - 'A' + 10);
      else return fail("bad \\u escape");
    }
    return true;
  }

  static void put_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  bool escape(std::string& out) {
    char c = text_[pos_++];
    switch (c) {
      case '"': out += '"'; return true;
      case '\\': out += '\\'; return true;
      case '/': out += '/'; return true;
      case 'b': out += '\b'; return true;
      case 'f': out += '\f'; return true;
      case 'n': out += '\n'; return true;
      case 'r': out += '\r'; return true;
      case 't': out += '\t'; return true;
      case 'u': break;
      default: return fail("bad escape");
    }
    std::uint32_t cp = 0;
    if (!hex4(cp))
      return false;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      std::uint32_t low = 0;
      if (text_.substr(pos_, 2) != "\\u")
        return fail("lone surrogate");
      pos_ += 2;
      if (!hex4(low) || low < 0xDC00 || low > 0xDFFF)
        return fail("lone surrogate");
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
      return fail("lone surrogate");
    }
    if (cp == 0)
      return fail("\\u0000 is not supported");
    put_utf8(out, cp);
    return true;
  }

  bool utf8_sequence(std::string& out) {
    auto lead = static_cast<unsigned char>(text_[pos_]);
    int extra = lead >= 0xF0 && lead <= 0xF4 ? 3 : lead >= 0xE0 ? 2 : lead >= 0xC2 && lead < 0xE0 ? 1 : -1;
    if (extra < 0 || lead > 0xF4)
      return fail("invalid UTF-8");
    if (pos_ + extra >= text_.size())
      return fail("invalid UTF-8");
    for (int i = 1; i <= extra; ++i)
      if ((static_cast<unsigned char>(text_[pos_ + i]) & 0xC0) != 0x80)
        return fail("invalid UTF-8");
    out.append(text_.substr(pos_, extra + 1));
    pos_ += extra + 1;
    return true;
  }

  bool string(std::string& out) {
    ++pos_;
    while (pos_ < text_.size()) {
      auto c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20)
        return fail("control character in string");
      if (c == '\\') {
        ++pos_;
        if (pos_ >= text_.size())
          return fail("unexpected end");
        if (!escape(out))
          return false;
      } else if (c >= 0x80) {
        if (!utf8_sequence(out))
          return false;
      } else {
        out += static_cast<char>(c);
        ++pos_;
      }
    }
    return fail("unterminated string");
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  const char* why_ = "";
};

} // namespace

result<std::string> canonical_json(std::string_view text) {
  return canonicalizer{text}.run();
}

result<std::string> canonical_json_object(std::string_view text) {
  auto out = canonical_json(text);
  if (out && (out->empty() || (*out)[0] != '{'))
    return make_error(errc::invalid_argument, "a JSON object is required");
  return out;
}

void append_json_string(std::string& out, std::string_view value) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  std::size_t i = 0;
  while (i < value.size()) {
    // Runs that need no escape are copied in one go.
    std::size_t run = i;
    while (run < value.size()) {
      auto c = static_cast<unsigned char>(value[run]);
      if (c < 0x20 || c == '"' || c == '\\')
        break;
      ++run;
    }
    out.append(value.data() + i, run - i);
    if ((i = run) == value.size())
      break;
    auto c = static_cast<unsigned char>(value[i++]);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 0xF];
    }
  }
  out += '"';
}

} // namespace aetherium
