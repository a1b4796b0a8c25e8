import Foundation

/// The Prometheus text exposition format (0.0.4) of the pool's figures, plus gauges read at
/// scrape time (the mail queue). Only routes and statuses that were seen are listed.
public enum PrometheusText {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// A value read when scraped rather than counted.
    public struct Gauge: Sendable {
        public var name: String
        public var help: String
        public var value: Int

        public init(name: String, help: String, value: Int) {
            self.name = name
            self.help = help
            self.value = value
        }
    }

    public static func render(_ snapshot: MetricsSnapshot, gauges: [Gauge] = []) -> String {
        var out = ""
        func header(_ name: String, _ help: String, _ type: String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        let seen = snapshot.routes.filter { $0.figures.count > 0 }

        header("jwt_allauth_requests_total", "Requests answered by the worker pool, by route and status.", "counter")
        for (route, figures) in seen {
            for (index, count) in figures.statuses.enumerated() where count > 0 {
                let status = index < MetricsLayout.statuses.count ? String(MetricsLayout.statuses[index]) : "other"
                out += "jwt_allauth_requests_total{route=\"\(escape(route))\",status=\"\(status)\"} \(count)\n"
            }
        }

        let duration = "jwt_allauth_request_duration_seconds"
        header(duration, "Time from request to response inside a worker, by route.", "histogram")
        for (route, figures) in seen {
            let label = "route=\"\(escape(route))\""
            var cumulative: UInt64 = 0
            for (index, count) in figures.buckets.enumerated() {
                cumulative &+= count
                let bound = index < MetricsLayout.latencyBounds.count ? "\(MetricsLayout.latencyBounds[index])" : "+Inf"
                out += "\(duration)_bucket{\(label),le=\"\(bound)\"} \(cumulative)\n"
            }
            out += "\(duration)_sum{\(label)} \(Double(figures.sumMicroseconds) / 1_000_000)\n"
            out += "\(duration)_count{\(label)} \(figures.count)\n"
        }

        for counter in PoolCounter.allCases {
            let (name, help) = counter.exposition
            header(name, help, "counter")
            out += "\(name) \(snapshot[counter])\n"
        }
        for gauge in gauges {
            header(gauge.name, gauge.help, "gauge")
            out += "\(gauge.name) \(gauge.value)\n"
        }
        return out
    }

    /// Label values escape backslash, double quote and newline.
    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}
