// The thread that runs SASL/PLAIN's PBKDF2 off the Kafka io thread (kafka/server/auth_worker.h):
// jobs run on another thread, in order; a full queue refuses rather than grows; every job the
// worker accepted is run or destroyed by the time the worker is gone.
#include <atomic>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "kafka/server/auth_worker.h"

namespace chronik::kafka {
namespace {

TEST(AuthWorker, RunsJobsInOrderOnItsOwnThread) {
  auth_worker worker(8);
  std::vector<int> order;
  std::promise<std::thread::id> ran_on;
  for (int i = 0; i < 3; ++i) {
    std::function<void()> job = [&order, i] { order.push_back(i); };
    ASSERT_TRUE(worker.submit(job));
  }
  std::function<void()> last = [&ran_on] { ran_on.set_value(std::this_thread::get_id()); };
  ASSERT_TRUE(worker.submit(last));
  const auto id = ran_on.get_future().get();  // the promise orders the vector's writes before this
  EXPECT_NE(id, std::this_thread::get_id());
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
}

TEST(AuthWorker, AFullQueueRefusesAndDropsNothingItAccepted) {
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::promise<void> started;
  auto dropped = std::make_shared<int>(0);
  {
    auth_worker worker(2);
    // The first job holds the thread; two more fill the queue; the fourth is refused.
    std::function<void()> blocker = [gate, &started] {
      started.set_value();
      gate.wait();
    };
    ASSERT_TRUE(worker.submit(blocker));
    started.get_future().wait();
    for (int i = 0; i < 2; ++i) {
      std::function<void()> job = [dropped] {};
      ASSERT_TRUE(worker.submit(job));
    }
    std::function<void()> refused = [dropped] {};
    EXPECT_FALSE(worker.submit(refused));
    EXPECT_TRUE(refused);  // a refused job is left with its owner
    EXPECT_EQ(worker.stats().refused, 1u);
    refused = nullptr;
    release.set_value();  // the worker may run the queued jobs, or stop before them
  }
  // Every copy of `dropped` captured by a job is gone: run or destroyed, none leaked.
  EXPECT_EQ(dropped.use_count(), 1);
}

}  // namespace
}  // namespace chronik::kafka
