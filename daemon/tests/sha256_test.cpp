// SHA-256 helper matches the standard test vectors, for strings and files.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "db/advisory_lock.hpp"
#include "common/backoff.hpp"
#include "common/sha256.hpp"

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(rgsync::sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(rgsync::sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, FileDigestEqualsStringDigest) {
  std::string path = testing::TempDir() + "sha256_test.bin";
  std::string data(200000, 'x');
  data[12345] = 'y';
  { std::ofstream(path, std::ios::binary) << data; }
  EXPECT_EQ(rgsync::sha256_file_hex(path), rgsync::sha256_hex(data));
  std::remove(path.c_str());
}

TEST(Sha256, MissingFileNamesIt) {
  try {
    rgsync::sha256_file_hex("/nonexistent/registry.yaml");
    FAIL();
  } catch (const std::runtime_error &e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/registry.yaml"), std::string::npos);
  }
}

TEST(AdvisoryLock, KeyIsStableAndNameDependent) {
  EXPECT_EQ(rgsync::advisory_lock_key("registry-sync migrate"), rgsync::advisory_lock_key("registry-sync migrate"));
  EXPECT_NE(rgsync::advisory_lock_key("registry-sync migrate"), rgsync::advisory_lock_key("registry-sync apply"));
}

// The one backoff: full jitter under min(cap, base * 2^attempt), for HTTP and serve retries alike.
TEST(Backoff, FullJitterStaysUnderTheCappedExponential) {
  EXPECT_DOUBLE_EQ(rgsync::full_jitter_backoff(0.5, 30, 0, 1.0), 0.5);
  EXPECT_DOUBLE_EQ(rgsync::full_jitter_backoff(0.5, 30, 3, 1.0), 4.0);
  EXPECT_DOUBLE_EQ(rgsync::full_jitter_backoff(0.5, 30, 10, 1.0), 30.0);
  EXPECT_DOUBLE_EQ(rgsync::full_jitter_backoff(0.5, 30, 1000, 0.5), 15.0);  // no overflow for long outages
  EXPECT_DOUBLE_EQ(rgsync::full_jitter_backoff(1, 60, 2, 2.0), 4.0);        // random clamped to [0, 1]
  for (int i = 0; i < 1000; ++i) {
    double r = rgsync::unit_random();
    ASSERT_GE(r, 0.0);
    ASSERT_LT(r, 1.0);
  }
}
