#include "base/device_names.h"

#include <gtest/gtest.h>

#include <string>

namespace sasrecllm {
namespace {

TEST(DeviceNamesTest, ParsesCpuCudaAndCudaN) {
  StatusOr<DeviceName> cpu = ParseDeviceName("cpu");
  ASSERT_TRUE(cpu.ok());
  EXPECT_FALSE(cpu->cuda);
  EXPECT_EQ(cpu->ToString(), "cpu");
  StatusOr<DeviceName> cuda = ParseDeviceName("cuda");
  ASSERT_TRUE(cuda.ok());
  EXPECT_TRUE(cuda->cuda);
  EXPECT_EQ(cuda->cuda_index, -1);
  EXPECT_EQ(cuda->ToString(), "cuda");
  StatusOr<DeviceName> one = ParseDeviceName("cuda:1");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->cuda_index, 1);
  EXPECT_EQ(one->ToString(), "cuda:1");
}

TEST(DeviceNamesTest, RefusesOtherDeviceNamesNamingTheValue) {
  for (const char* name : {"", "gpu", "CPU", "cuda:", "cuda:-1", "cuda:x", "cuda:1x", "mps"}) {
    StatusOr<DeviceName> d = ParseDeviceName(name);
    ASSERT_FALSE(d.ok()) << name;
    EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(d.status().message().find("unknown device \"" + std::string(name) + "\""),
              std::string::npos)
        << d.status();
  }
}

TEST(DeviceNamesTest, ParsesDtypesAndTheirAliases) {
  EXPECT_EQ(*ParseDtypeName("float32"), DtypeName::kFloat32);
  EXPECT_EQ(*ParseDtypeName("fp32"), DtypeName::kFloat32);
  EXPECT_EQ(*ParseDtypeName("bfloat16"), DtypeName::kBFloat16);
  EXPECT_EQ(*ParseDtypeName("bf16"), DtypeName::kBFloat16);
  EXPECT_EQ(*ParseDtypeName("float16"), DtypeName::kFloat16);
  EXPECT_EQ(*ParseDtypeName("half"), DtypeName::kFloat16);
  EXPECT_STREQ(DtypeNameString(DtypeName::kBFloat16), "bfloat16");
  StatusOr<DtypeName> bad = ParseDtypeName("int8");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("unknown dtype \"int8\""), std::string::npos);
}

}  // namespace
}  // namespace sasrecllm
