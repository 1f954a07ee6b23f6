// Which part of COUNT items shard INDEX of SHARDS takes: contiguous, in order, sizes differing
// by at most one, every item in exactly one shard. Used for a training step's per-rank rows,
// the sharded embedding cache and `mtst encode --shard K/N`.
#pragma once

#include <cstddef>

namespace mtst {

struct ShardRange {
  size_t begin = 0, end = 0;
  size_t size() const { return end - begin; }
};

inline ShardRange shard_range(size_t count, size_t index, size_t shards) {
  return {count * index / shards, count * (index + 1) / shards};
}

}  // namespace mtst
