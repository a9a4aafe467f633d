#include "events/domain/project.hpp"

namespace aetherium::domain {

namespace {

result<void> check(const std::string& value, const char* field, std::size_t max) {
  if (value.empty())
    return make_error(errc::invalid_argument, std::string{field} + " must not be empty", field);
  if (value.size() > max)
    return make_error(errc::invalid_argument, std::string{field} + " is longer than " + std::to_string(max) + " bytes", field);
  return {};
}

} // namespace

result<std::vector<project_event>> project::decide(const state& s, const command& c) {
  auto& cmd = std::get<create_project>(c);
  if (s.exists)
    return make_error(errc::conflict, "project " + cmd.id.str() + " exists already");
  for (auto r : {check(cmd.id.str(), "id", 128), check(cmd.tenant.str(), "tenant", 128),
                 check(cmd.name, "name", 200), check(cmd.repo, "repo", 2048),
                 check(cmd.default_base_ref, "default_base_ref", 255)})
    if (!r)
      return r.err();
  if (cmd.verify_command.size() > 4096)
    return make_error(errc::invalid_argument, "verify_command is longer than 4096 bytes", "verify_command");
  return std::vector<project_event>{project_created{cmd.id, cmd.tenant, cmd.name, cmd.repo, cmd.default_base_ref,
                                                    cmd.verify_command, cmd.now_us}};
}

project_state project::evolve(state s, const event& e) {
  s.exists = true;
  s.fields = std::get<project_created>(e);
  return s;
}

const char* type_name(const project_event&) noexcept {
  return project_created::type_name;
}

} // namespace aetherium::domain
