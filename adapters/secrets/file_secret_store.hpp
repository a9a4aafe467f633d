#pragma once

#include <memory>
#include <string>

#include "events/secret_store.hpp"

namespace aetherium {

/// Secrets as files `<dir>/<tenant>/<name>` (readable by root only). A name that is not
/// one plain file name (empty, ".", "..", or holding '/') is not_found, so no name reaches
/// outside its tenant's directory.
std::shared_ptr<secret_store> make_file_secret_store(std::string dir);

} // namespace aetherium
