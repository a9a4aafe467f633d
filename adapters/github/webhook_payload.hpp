#pragma once

// Internal to adapters/github: reading a webhook delivery into the pure decision's input.

#include <map>
#include <string>

#include "events/github/webhook_decision.hpp"
#include "events/result.hpp"

namespace aetherium::github {

/// The value of header `name` (matched case-insensitively), or empty when absent.
std::string header_value(const std::map<std::string, std::string>& headers, const std::string& name);

/// Takes the decision's fields from the delivery headers (X-GitHub-Event,
/// X-GitHub-Delivery) and its JSON body; the comment body gets "\n" line ends (GitHub's
/// web editor sends CRLF). Call only after the signature is verified.
/// Errors: invalid_argument (no X-GitHub-Event header, body not a JSON object).
result<delivery_fields> extract_delivery_fields(const std::map<std::string, std::string>& headers,
                                                const std::string& body);

} // namespace aetherium::github
