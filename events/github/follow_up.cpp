#include "events/github/follow_up.hpp"

#include "events/read_model/task_requests.hpp"

namespace aetherium::github {

std::string follow_up_key(std::int64_t comment_id) { return "github-comment-" + std::to_string(comment_id); }

void follow_up_on_comment(std::shared_ptr<api::control_plane> control, pull_request_lookup find_parent,
                          follow_up f, std::function<void(result<void>)> done) {
  find_parent(f.repo, f.pr_number, [control, f, done](const result<api::task_view>& parent) {
    if (!parent)
      return done(parent.err());
    api::caller who{parent->tenant, "github:" + f.author, api::role::operator_, f.delivery_id};
    api::create_task_request r;
    r.project = parent->project;
    r.agent_type = parent->agent_type;
    r.prompt = f.prompt;
    // The follow-up works where its parent did, as its parent was allowed to: same
    // runtime, limits, budgets, network allow-list, secret names and verification.
    r.runtime = parent->runtime;
    r.limits = parent->limits;
    r.budgets = parent->budgets;
    r.network = parent->network;
    r.secrets = parent->secrets;
    r.model_providers = parent->model_providers;
    r.verify_command = parent->verify_command;
    r.parent = parent->id;
    auto key = follow_up_key(f.comment_id);
    task_id handled{read_model::task_id_for_key(parent->tenant, key)};
    control->get_task(who, handled, [control, who, r, key, done](const result<api::task_view>& seen) {
      if (seen)
        return done({});
      control->create_task(who, r, key, [done](const result<api::task_created>& t) {
        if (!t)
          return done(t.err());
        done({});
      });
    });
  });
}

} // namespace aetherium::github
