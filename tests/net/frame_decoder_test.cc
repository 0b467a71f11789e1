#include "net/frame_decoder.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace plumlog::net {
namespace {

TEST(FrameDecoderTest, RoundTripsFramesSplitAtEveryByte) {
  std::string wire;
  const std::vector<std::string> sent = {"a", std::string(300, 'x'), "\x93\x01\x02\x03",
                                         std::string(70000, 'z')};
  for (const auto& f : sent) AppendFrame(f, &wire);
  for (size_t step : {size_t{1}, size_t{3}, size_t{4}, size_t{5}, size_t{4096}, wire.size()}) {
    FrameDecoder d;
    std::vector<std::string> got;
    for (size_t i = 0; i < wire.size(); i += step) {
      ASSERT_TRUE(d.Feed(std::string_view(wire).substr(i, step), &got).ok());
    }
    EXPECT_EQ(got, sent) << "step " << step;
    EXPECT_TRUE(d.at_boundary());
  }
}

TEST(FrameDecoderTest, PartialFrameIsNotAtBoundary) {
  std::string wire;
  AppendFrame("hello", &wire);
  FrameDecoder d;
  std::vector<std::string> got;
  ASSERT_TRUE(d.Feed(std::string_view(wire).substr(0, 2), &got).ok());
  EXPECT_FALSE(d.at_boundary());
  ASSERT_TRUE(d.Feed(std::string_view(wire).substr(2, 5), &got).ok());
  EXPECT_FALSE(d.at_boundary());
  EXPECT_TRUE(got.empty());
  ASSERT_TRUE(d.Feed(std::string_view(wire).substr(7), &got).ok());
  EXPECT_TRUE(d.at_boundary());
  ASSERT_EQ(got.size(), 1u);
}

TEST(FrameDecoderTest, RejectsZeroLength) {
  FrameDecoder d;
  std::vector<std::string> got;
  Status st = d.Feed(std::string("\0\0\0\0", 4), &got);
  EXPECT_EQ(st.code(), Status::Code::kCorruption);
  // Stays failed.
  EXPECT_FALSE(d.Feed("x", &got).ok());
}

TEST(FrameDecoderTest, RejectsOversizedLengthBeforeBufferingIt) {
  FrameDecoder d(1000);
  std::vector<std::string> got;
  std::string wire;
  AppendFrame(std::string(1001, 'a'), &wire);
  Status st = d.Feed(std::string_view(wire).substr(0, 4), &got);
  EXPECT_EQ(st.code(), Status::Code::kTooLarge);
  EXPECT_EQ(d.buffered(), 0u);
  // The default limit is replication's 1 MiB frame.
  FrameDecoder big;
  std::string header = {'\x00', '\x10', '\x00', '\x01'};  // 1 MiB + 1
  EXPECT_EQ(big.Feed(header, &got).code(), Status::Code::kTooLarge);
  std::string ok = {'\x00', '\x10', '\x00', '\x00'};  // exactly 1 MiB
  FrameDecoder exact;
  EXPECT_TRUE(exact.Feed(ok, &got).ok());
}

}  // namespace
}  // namespace plumlog::net
