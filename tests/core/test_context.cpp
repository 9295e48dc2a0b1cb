#include <gtest/gtest.h>

#include "shoal/context.hpp"
#include "shoal/error.hpp"
#include "shoal/system.hpp"
#include "support/test_support.hpp"

namespace shoal {
namespace {

TEST(Backend, ParsesAndPrintsEveryName) {
  for (const Backend backend : {Backend::Auto, Backend::Cpu, Backend::Cuda}) {
    EXPECT_EQ(parse_backend(to_string(backend)), backend);
  }
  EXPECT_THROW((void)parse_backend("gpu"), InvalidArgument);
  EXPECT_THROW((void)parse_backend(""), InvalidArgument);
}

TEST(Context, CpuContextNeverEnablesCuda) {
  Context ctx(Backend::Cpu);
  EXPECT_FALSE(ctx.cuda_enabled());
  EXPECT_EQ(ctx.backend_for(1e15), Backend::Cpu);
  EXPECT_THROW((void)ctx.cuda(), DeviceError);
}

TEST(Context, AutoFallsBackToCpuWithoutDevice) {
  if (test::cuda_device_available()) GTEST_SKIP() << "a CUDA device is present";
  Context ctx;
  EXPECT_FALSE(ctx.cuda_enabled());
  EXPECT_EQ(ctx.backend_for(1e15), Backend::Cpu);
}

TEST(Context, CudaWithoutDeviceThrowsDeviceErrorSayingWhy) {
  if (test::cuda_device_available()) GTEST_SKIP() << "a CUDA device is present";
  try {
    Context ctx(Backend::Cuda);
    FAIL() << "expected DeviceError";
  } catch (const DeviceError& e) {
    EXPECT_NE(std::string(e.what()).find("cuda backend was requested"), std::string::npos) << e.what();
  }
}

TEST(Context, CudaOnMissingOrdinalThrows) {
  const int count = static_cast<int>(cuda_status().devices.size());
  EXPECT_THROW(Context(Backend::Cuda, count), DeviceError);
  EXPECT_THROW(Context(Backend::Cpu, -1), InvalidArgument);
}

TEST(Context, AutoPicksCudaOnlyForLargeWork) {
  SHOAL_SKIP_WITHOUT_CUDA_DEVICE();
  Context ctx;
  EXPECT_TRUE(ctx.cuda_enabled());
  EXPECT_EQ(ctx.backend_for(Context::auto_cuda_min_flops), Backend::Cuda);
  EXPECT_EQ(ctx.backend_for(1.0), Backend::Cpu);
  Context forced(Backend::Cuda);
  EXPECT_EQ(forced.backend_for(1.0), Backend::Cuda);
  EXPECT_NO_THROW((void)forced.cuda());
}

TEST(Context, SettingsRoundTrip) {
  Context ctx(Backend::Cpu);
  EXPECT_GE(ctx.threads(), 1);
  ctx.set_threads(3);
  EXPECT_EQ(ctx.threads(), 3);
  EXPECT_THROW(ctx.set_threads(-1), InvalidArgument);
  ctx.set_seed(42);
  EXPECT_EQ(ctx.seed(), 42u);
  ctx.set_memory_budget(1 << 20);
  EXPECT_EQ(ctx.memory_budget(), 1u << 20);
}

TEST(Context, ProgressCallbackReceivesReports) {
  Context ctx(Backend::Cpu);
  ctx.report_progress("nothing listens", 0.5);  // no callback: no effect
  std::string stage;
  double fraction = -1.0;
  ctx.set_progress_callback([&](std::string_view s, double f) {
    stage = s;
    fraction = f;
  });
  ctx.report_progress("lloyd", 0.25);
  EXPECT_EQ(stage, "lloyd");
  EXPECT_DOUBLE_EQ(fraction, 0.25);
}

TEST(Context, MovesKeepSettings) {
  Context ctx(Backend::Cpu);
  ctx.set_seed(7);
  Context moved = std::move(ctx);
  EXPECT_EQ(moved.seed(), 7u);
  EXPECT_EQ(moved.requested_backend(), Backend::Cpu);
}

TEST(System, BuildInfoMatchesCudaStatus) {
  const BuildInfo build = build_info();
  EXPECT_EQ(build.version, version());
  EXPECT_FALSE(build.blas.empty());
  EXPECT_EQ(build.cuda, cuda_status().compiled);
  if (cuda_status().devices.empty()) {
    EXPECT_FALSE(cuda_status().message.empty());
  }
}

}  // namespace
}  // namespace shoal
