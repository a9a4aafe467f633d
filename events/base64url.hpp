#pragma once

#include <cstddef>
#include <string>

namespace aetherium {

/// `data` as unpadded base64url (RFC 4648 section 5): the text form of API keys and node
/// join tokens.
std::string base64url(const unsigned char* data, std::size_t n);

} // namespace aetherium
