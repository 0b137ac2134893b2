// The one backoff computation: full jitter (uniform in [0, min(cap, base * 2^attempt)]), used by
// HTTP request retries and by serve's job retries. What is retried, and when not, is the
// callers' policy; this only says how long to wait.
#pragma once

namespace rgsync {

// `unit_random` in [0, 1] (clamped); attempt counts from 0.
double full_jitter_backoff(double base_s, double cap_s, int attempt, double unit_random);

// A uniform random number in [0, 1) from a per-thread generator.
double unit_random();

}  // namespace rgsync
