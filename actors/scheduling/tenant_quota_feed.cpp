#include "actors/scheduling/tenant_quota_feed.hpp"

#include <mutex>
#include <string>
#include <unordered_map>

#include <caf/all.hpp>

#include "actors/scheduling/scheduling_messages.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(aetherium::recorded_event)

namespace aetherium::actors {

namespace {

using tenant_event_atom = caf::atom_constant<caf::atom("tenantev")>;

constexpr const char* tenant_prefix = "tenant-";

struct feed_state {
  std::unordered_map<std::string, scheduling::tenant_state> tenants;
};

/// The feed's subscription, set once it is made (after the actor, whose handle it needs).
struct feed_holder {
  std::mutex mtx;
  std::unique_ptr<subscription> feed;
  bool stopped = false;
  void stop() {
    std::lock_guard<std::mutex> lock{mtx};
    stopped = true;
    if (feed)
      feed->stop();
  }
};

caf::behavior tenant_quota_feed(caf::stateful_actor<feed_state>* self, std::shared_ptr<feed_holder> holder,
                                std::shared_ptr<const domain::tenant_codec> codec, caf::actor scheduler) {
  self->attach_functor([holder] { holder->stop(); });
  return {
    [self, codec, scheduler](tenant_event_atom, const recorded_event& e) {
      auto decoded = codec->decode(e);
      if (!decoded)
        return; // the task board counts and reports undecodable events
      auto id = e.stream.str().substr(std::string{tenant_prefix}.size());
      auto& state = self->state.tenants[id];
      state = scheduling::tenant::evolve(std::move(state), *decoded);
      caf::anon_send(scheduler, quota_atom::value, id, scheduling::placement_quotas_of(state.quotas));
    },
  };
}

} // namespace

caf::actor spawn_tenant_quota_feed(caf::actor_system& sys, std::shared_ptr<event_store> store,
                                   std::shared_ptr<const domain::tenant_codec> codec, caf::actor scheduler) {
  auto holder = std::make_shared<feed_holder>();
  auto actor = sys.spawn(tenant_quota_feed, holder, std::move(codec), std::move(scheduler));
  // Tenant streams only: read by category at start (never the whole log), then followed;
  // the subscription thread drops every other stream.
  caf::weak_actor_ptr me = actor->ctrl();
  auto deliver = [me](const recorded_event& e) {
    if (auto strong = me.lock())
      caf::anon_send(caf::actor_cast<caf::actor>(strong), tenant_event_atom::value, e);
  };
  auto feed = follow_category(*store, "tenant", deliver);
  std::unique_ptr<subscription> made = feed ? std::move(*feed) : store->subscribe(0, [deliver](const recorded_event& e) {
    if (e.stream.str().rfind(tenant_prefix, 0) == 0)
      deliver(e);
  });
  std::lock_guard<std::mutex> lock{holder->mtx};
  if (holder->stopped)
    made->stop();
  holder->feed = std::move(made);
  return actor;
}

} // namespace aetherium::actors
