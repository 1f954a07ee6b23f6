// Tests for BoundedCache, the bound of the oneDNN primitive caches: it never holds more than its
// capacity whatever the number of distinct keys, hits return the stored value without making a
// new one, and values handed out stay valid after the cache starts over.
#include "runtime/bounded_cache.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace mtst {
namespace {

TEST(BoundedCache, NeverHoldsMoreThanItsCapacity) {
  BoundedCache<int> cache(64);
  for (int i = 0; i < 10000; ++i) {
    cache.put("shape," + std::to_string(i), i);
    ASSERT_LE(cache.size(), 64u) << "after " << i + 1 << " keys";
  }
  EXPECT_GE(cache.size(), 1u);
  EXPECT_EQ(cache.find("shape,9999").value_or(-1), 9999);
}

TEST(BoundedCache, HitsDoNotMakeAgain) {
  BoundedCache<std::shared_ptr<int>> cache(8);
  int made = 0;
  auto make = [&] { return std::make_shared<int>(++made); };
  const auto first = cache.get("a", make);
  EXPECT_EQ(cache.get("a", make), first);
  EXPECT_EQ(made, 1);
  cache.put("a", std::make_shared<int>(42));  // replacing a key never starts over
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(*cache.find("a").value(), 42);
}

TEST(BoundedCache, ValuesInUseSurviveStartingOver) {
  BoundedCache<std::shared_ptr<std::string>> cache(2);
  const auto kept = cache.get("x", [] { return std::make_shared<std::string>("primitive"); });
  for (int i = 0; i < 10; ++i) {
    cache.get(std::to_string(i), [] { return std::make_shared<std::string>("other"); });
  }
  EXPECT_FALSE(cache.find("x").has_value());
  EXPECT_EQ(*kept, "primitive");
}

}  // namespace
}  // namespace mtst
