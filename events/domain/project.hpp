#pragma once

#include <string>
#include <variant>
#include <vector>

#include "events/ids.hpp"
#include "events/result.hpp"

namespace aetherium::domain {

/// A project: a repository tasks work on, with its defaults. Stream "project-<id>".
struct project_created {
  static constexpr const char* type_name = "project.created";
  static constexpr int schema_version = 1;
  project_id id;
  tenant_id tenant;
  std::string name;
  std::string repo;
  std::string default_base_ref;
  std::string verify_command;
  std::int64_t at_us = 0;
};

using project_event = std::variant<project_created>;

struct create_project {
  project_id id;
  tenant_id tenant;
  std::string name;
  std::string repo;
  std::string default_base_ref = "main";
  std::string verify_command;
  std::int64_t now_us = 0;
};

using project_command = std::variant<create_project>;

struct project_state {
  bool exists = false;
  project_created fields;
};

/// The project aggregate: pure decide and evolve.
struct project {
  using state = project_state;
  using command = project_command;
  using event = project_event;

  static stream_id stream_of(const std::string& id) { return stream_id{"project-" + id}; }
  /// Every project command creates it: decided against an empty stream before it is read.
  static bool creates(const command&) { return true; }
  /// Errors: conflict (exists), invalid_argument (empty or oversized fields).
  static result<std::vector<event>> decide(const state& s, const command& c);
  static state evolve(state s, const event& e);
};

const char* type_name(const project_event& e) noexcept;

} // namespace aetherium::domain
