// spdlog setup with a sink that redacts secrets before writing (see logging.hpp).
#include "common/logging.hpp"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>
#include <mutex>

#include "common/errors.hpp"
#include "common/redact.hpp"

namespace rgsync {

namespace {
// Formats each record, removes secrets from the formatted text, writes it to stderr.
class RedactingStderrSink : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg &msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    std::string line = redact(std::string_view(formatted.data(), formatted.size()));
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
  void flush_() override { std::fflush(stderr); }
};
}  // namespace

void setup_logging(const std::string &level) {
  auto parsed = spdlog::level::from_str(level);
  // from_str maps anything unknown to "off": only accept "off" when it was asked for.
  if (parsed == spdlog::level::off && level != "off")
    throw UsageError("unknown log level '" + level + "' (use trace, debug, info, warn, error or off)");
  auto logger = std::make_shared<spdlog::logger>("registry-sync", std::make_shared<RedactingStderrSink>());
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e [%l] %v");
  logger->set_level(parsed);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
}

}  // namespace rgsync
