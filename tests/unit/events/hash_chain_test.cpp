#include <gtest/gtest.h>

#include "events/hash_chain.hpp"
#include "events/sha256.hpp"

using namespace aetherium;

namespace {

recorded_event sample() {
  recorded_event e;
  e.id = event_id{"00000000-0000-4000-8000-000000000001"};
  e.stream = stream_id{"task-1"};
  e.stream_version = 1;
  e.type = "task.requested";
  e.payload = R"({"prompt": "hi"})";
  e.metadata.tenant = "acme";
  e.recorded_at_us = 42;
  return e;
}

} // namespace

TEST(hash_chain, encoding_is_canonical_json_of_every_hashed_field) {
  EXPECT_EQ(canonical_event_encoding(sample()),
            R"({"event_id":"00000000-0000-4000-8000-000000000001","metadata":{"causation_id":"",)"
            R"("correlation_id":"","principal":"","tenant":"acme","trace_id":""},)"
            R"("payload":{"prompt": "hi"},"recorded_at_us":42,"schema_version":1,)"
            R"("stream_id":"task-1","stream_version":1,"type":"task.requested"})");
}

TEST(hash_chain, hash_covers_prev_hash_and_every_field) {
  auto base = sample();
  auto h = chain_hash("", base);
  EXPECT_EQ(h, sha256_hex(canonical_event_encoding(base)));
  EXPECT_NE(chain_hash("ab", base), h);
  auto changed = base;
  changed.payload = R"({"prompt":"ho"})";
  EXPECT_NE(chain_hash("", changed), h);
  changed = base;
  changed.metadata.tenant = "other";
  EXPECT_NE(chain_hash("", changed), h);
  changed = base;
  changed.position = 99; // position is not hashed: the chain itself fixes the order
  EXPECT_EQ(chain_hash("", changed), h);
}
