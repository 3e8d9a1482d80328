#include "cam/analyzer.h"

#include "cam/failover.h"

namespace camwatch::cam {

Analyzer::Analyzer(const AnalyzerConfig& config, EventSink& sink)
    : nlb_(config.nlb, orderer_),
      publisher_(sink, nlb_),
      tracker_(config.tracker, publisher_),
      bindings_(config.bindings, orderer_),
      bindings_enabled_(config.bindings_enabled) {
  orderer_.tracker_ = &tracker_;
}

Analyzer::~Analyzer() = default;

void Analyzer::observe_more(const Observation& obs) noexcept {
  if (obs.has(ObservationFlag::nlb_heartbeat) || obs.claim != ClaimKind::none) nlb_.observe(obs);
  if (obs.claim != ClaimKind::none && bindings_enabled_) bindings_.observe(obs);
}

void Analyzer::advance(PacketTime now) noexcept {
  tracker_.advance(now);
  nlb_.advance(tracker_.clock());
  if (bindings_enabled_) bindings_.advance(tracker_.clock());
}

bool Analyzer::reconfigure(const AnalyzerConfig& config) {
  bool same_sizes = tracker_.reconfigure(config.tracker);
  same_sizes = bindings_.reconfigure(config.bindings) && same_sizes;
  bindings_enabled_ = config.bindings_enabled;
  return same_sizes;
}

void Analyzer::restore_story(std::shared_ptr<const FailoverStory> story) {
  if (!story) return;
  tracker_.restore_story(*story);
  publisher_.keep(std::move(story));
}

void Analyzer::Publisher::keep(std::shared_ptr<const FailoverStory> story) {
  if (recent.size() == kRecentStories) recent.pop_front();
  recent.push_back(std::move(story));
}

void Analyzer::Publisher::on_event(const Event& e) {
  switch (e.kind) {
    case EventKind::silent_move:
    case EventKind::announced_move:
    case EventKind::flap:
      if (const NlbHost* h = nlb_.find(e.station, e.time)) {
        Event out = e;
        out.nlb_mode = h->mode;
        out.nlb_host_id = h->host_id;
        out.nlb_cluster_ip = h->cluster_ip;
        out.nlb_dedicated_ip = h->dedicated_ip;
        sink_.on_event(out);
        return;
      }
      break;
    case EventKind::failover: {
      if (!e.story) break;
      // The story's members get their NLB identity; the published story is a new object.
      auto story = std::make_shared<FailoverStory>(*e.story);
      for (FailoverStation& m : story->stations) {
        if (const NlbHost* h = nlb_.find(m.station, m.moved)) {
          m.nlb_mode = h->mode;
          m.nlb_host_id = h->host_id;
          m.nlb_cluster_ip = h->cluster_ip;
          ++story->nlb_hosts;
        }
      }
      Event out = e;
      out.story = story;
      keep(std::move(story));
      sink_.on_event(out);
      return;
    }
    default: break;
  }
  sink_.on_event(e);
}

}  // namespace camwatch::cam
