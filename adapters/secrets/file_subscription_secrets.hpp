#pragma once

#include <memory>
#include <string>

#include "events/notifications/subscription_secrets.hpp"

namespace aetherium {

/// Subscription secrets as files `<dir>/<tenant>/<subscription id>` (mode 0600 in 0700
/// directories), apart from the task secrets so no task can name one. A tenant or id that
/// is not one plain file name is invalid_argument (put) or not_found (get).
std::shared_ptr<notifications::subscription_secrets> make_file_subscription_secrets(std::string dir);

} // namespace aetherium
