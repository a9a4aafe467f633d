#include "actors/scheduling/tenant_quota_feed.hpp"

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

caf::behavior tenant_quota_feed(caf::stateful_actor<feed_state>* self, std::shared_ptr<event_store> store,
                                std::shared_ptr<const domain::tenant_codec> codec, caf::actor scheduler) {
  // The subscription thread drops every other stream, so a busy log costs this actor nothing.
  caf::weak_actor_ptr me = self->ctrl();
  std::shared_ptr<subscription> feed = store->subscribe(0, [me](const recorded_event& e) {
    if (e.stream.str().rfind(tenant_prefix, 0) != 0)
      return;
    if (auto strong = me.lock())
      caf::anon_send(caf::actor_cast<caf::actor>(strong), tenant_event_atom::value, e);
  });
  self->attach_functor([feed] { feed->stop(); });
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
  return sys.spawn(tenant_quota_feed, std::move(store), std::move(codec), std::move(scheduler));
}

} // namespace aetherium::actors
