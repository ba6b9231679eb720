// INT8ATTN_FUSED_TUNING's text form (kernels/fused_tuning.h): every knob read, and a mistyped
// key or value refused with what is wrong, never run as the default.
#include <gtest/gtest.h>

#include <string>

#include "kernels/fused_tuning.h"

namespace int8attn::kernels {
namespace {

TEST(FusedTuningText, ReadsEveryKnob) {
  FusedTuning t;
  EXPECT_EQ(parse_fused_tuning("schedule=1,warps=8,wgmma=0,ws=1,ws_schedule=3,fused_q=0,tile_order=2,split_parts=3,"
                               "retile_groups=2,dynamic_tiles=1,dependent_launch=0,two_slot_ring=1",
                               t),
            "");
  EXPECT_EQ(t.schedule, 1);
  EXPECT_EQ(t.warps_per_cta, 8);
  EXPECT_EQ(t.wgmma, 0);
  EXPECT_EQ(t.ws, 1);
  EXPECT_EQ(t.ws_schedule, 3);
  EXPECT_EQ(t.fused_q, 0);
  EXPECT_EQ(t.tile_order, 2);
  EXPECT_EQ(t.split_parts, 3);
  EXPECT_EQ(t.retile_groups, 2);
  EXPECT_EQ(t.dynamic_tiles, 1);
  EXPECT_EQ(t.dependent_launch, 0);
  EXPECT_EQ(t.two_slot_ring, 1);
}

TEST(FusedTuningText, EmptyTextAndEmptyItemsChangeNothing) {
  FusedTuning t;
  EXPECT_EQ(parse_fused_tuning("", t), "");
  EXPECT_EQ(parse_fused_tuning(",retile_groups=0,,", t), "");
  EXPECT_EQ(t.retile_groups, 0);
  EXPECT_EQ(t.split_parts, -1);
}

TEST(FusedTuningText, AMistypedKeyIsRefusedWithTheKnownKeys) {
  FusedTuning t;
  const std::string why = parse_fused_tuning("split_parts=2,retile_group=0", t);
  EXPECT_NE(why.find("'retile_group=0': unknown key 'retile_group'"), std::string::npos) << why;
  EXPECT_NE(why.find("retile_groups (-1 to 2)"), std::string::npos) << why;
  EXPECT_EQ(t.split_parts, -1) << "nothing is taken from a text with an error";
}

TEST(FusedTuningText, ValuesMustBeIntegersInTheKnobsRange) {
  FusedTuning t;
  for (const char* text : {"fused_q=", "fused_q=yes", "fused_q=1x", "fused_q=2", "fused_q=-2", "fused_q= 1",
                           "ws_schedule=4", "warps=6", "warps=9", "schedule=99999999999"}) {
    const std::string why = parse_fused_tuning(text, t);
    EXPECT_NE(why.find("expected"), std::string::npos) << text << ": " << why;
  }
  EXPECT_NE(parse_fused_tuning("fused_q", t).find("expected key=value"), std::string::npos);
  EXPECT_EQ(parse_fused_tuning("warps=4,fused_q=-1", t), "");
  EXPECT_EQ(t.warps_per_cta, 4);
}

}  // namespace
}  // namespace int8attn::kernels
