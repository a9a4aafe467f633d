#pragma once

#include <string>
#include <string_view>

namespace aetherium {

/// `text` with every "\r\n" and every lone "\r" turned into "\n": what people type
/// (GitHub's web editor sends CRLF, so do Windows files) reaches prompts and scripts with
/// Unix line ends only, and no stray carriage return ends up in a file name or a command.
std::string normalize_line_ends(std::string_view text);

} // namespace aetherium
