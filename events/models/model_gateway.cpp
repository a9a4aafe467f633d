#include "events/models/model_gateway.hpp"

namespace aetherium::models {

std::vector<std::pair<std::string, std::string>> agent_environment(const std::vector<std::string>& providers) {
  std::vector<std::pair<std::string, std::string>> env;
  for (auto& p : providers) {
    if (p == "anthropic") {
      env.emplace_back("ANTHROPIC_BASE_URL", "$AETHERIUM_MODEL_GATEWAY/anthropic");
      env.emplace_back("ANTHROPIC_API_KEY", placeholder_key);
    } else if (p == "openai") {
      env.emplace_back("OPENAI_BASE_URL", "$AETHERIUM_MODEL_GATEWAY/openai/v1");
      env.emplace_back("OPENAI_API_KEY", placeholder_key);
    } else if (p == "gemini") {
      env.emplace_back("GOOGLE_GEMINI_BASE_URL", "$AETHERIUM_MODEL_GATEWAY/gemini");
      env.emplace_back("GEMINI_API_KEY", placeholder_key);
    }
  }
  return env;
}

} // namespace aetherium::models
