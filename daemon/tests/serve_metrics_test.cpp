// serve's job metrics as Prometheus text.
#include <gtest/gtest.h>

#include "serve/metrics.hpp"

using rgsync::serve::Metrics;

TEST(ServeMetrics, CountsUnseenHrUsersByResultForHrJobsOnly) {
  Metrics m;
  m.declare("hr-corp", "hr");
  m.declare("seal", "seal");
  m.hr_unseen("hr-corp", 1, 0);
  m.hr_unseen("hr-corp", 0, 2);
  std::string text = m.render();
  EXPECT_NE(text.find("# TYPE registry_sync_hr_unseen_users_total counter"), std::string::npos);
  EXPECT_NE(text.find("registry_sync_hr_unseen_users_total{job=\"hr-corp\",kind=\"hr\",result=\"present\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("registry_sync_hr_unseen_users_total{job=\"hr-corp\",kind=\"hr\",result=\"gone\"} 2\n"), std::string::npos);
  EXPECT_EQ(text.find("registry_sync_hr_unseen_users_total{job=\"seal\""), std::string::npos);
}
