// shard_range: every item in exactly one shard, in order, shard sizes differing by at most one.
#include "mtst/io/shard.h"

#include <gtest/gtest.h>

namespace mtst {
namespace {

TEST(ShardRange, CoversEveryItemOnceInOrderWithSizesWithinOne) {
  for (size_t count : {0, 1, 2, 5, 7, 32, 1001}) {
    for (size_t shards : {1, 2, 3, 4, 8}) {
      size_t next = 0, smallest = count, largest = 0;
      for (size_t k = 0; k < shards; ++k) {
        const auto r = shard_range(count, k, shards);
        EXPECT_EQ(r.begin, next) << count << " items, shard " << k << " of " << shards;
        next = r.end;
        smallest = std::min(smallest, r.size());
        largest = std::max(largest, r.size());
      }
      EXPECT_EQ(next, count);
      EXPECT_LE(largest - smallest, 1u) << count << " items in " << shards << " shards";
    }
  }
}

TEST(ShardRange, AFiveRowBatchSplitsTwoThenThree) {
  EXPECT_EQ(shard_range(5, 0, 2).size(), 2u);
  EXPECT_EQ(shard_range(5, 1, 2).begin, 2u);
  EXPECT_EQ(shard_range(5, 1, 2).size(), 3u);
}

}  // namespace
}  // namespace mtst
