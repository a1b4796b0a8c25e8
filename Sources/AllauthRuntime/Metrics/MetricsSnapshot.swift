/// The figures of one route: answers by status, the latency histogram (per bucket, not yet
/// cumulative), total duration and count.
struct RouteFigures: Sendable {
    var statuses = [UInt64](repeating: 0, count: MetricsLayout.statuses.count + 1)
    var buckets = [UInt64](repeating: 0, count: MetricsLayout.latencyBounds.count + 1)
    var sumMicroseconds: UInt64 = 0
    var count: UInt64 = 0

    mutating func add(_ other: RouteFigures) {
        for index in statuses.indices { statuses[index] &+= other.statuses[index] }
        for index in buckets.indices { buckets[index] &+= other.buckets[index] }
        sumMicroseconds &+= other.sumMicroseconds
        count &+= other.count
    }
}

/// Counts read from one or more counter files; `add` sums processes, routes matched by label.
public struct MetricsSnapshot: Sendable {
    var counters = [UInt64](repeating: 0, count: PoolCounter.allCases.count)
    /// In the order first seen, so the exposition is stable from scrape to scrape.
    var routes: [(label: String, figures: RouteFigures)] = []

    init() {}

    init(_ file: CounterFile) {
        let layout = file.layout
        counters = PoolCounter.allCases.map { file.load(layout.counterBase + $0.rawValue) }
        routes = layout.routes.indices.map { route in
            var figures = RouteFigures()
            let base = layout.routeBase + route * MetricsLayout.routeWords
            for index in figures.statuses.indices { figures.statuses[index] = file.load(base + index) }
            for index in figures.buckets.indices { figures.buckets[index] = file.load(base + figures.statuses.count + index) }
            figures.sumMicroseconds = file.load(layout.sumWord(route: route))
            figures.count = file.load(layout.countWord(route: route))
            return (layout.routes[route], figures)
        }
    }

    public subscript(counter: PoolCounter) -> UInt64 { counters[counter.rawValue] }

    /// Requests answered on `route` (a label such as `refresh/`) with `status`, summed over the pool.
    public func requests(route: String, status: Int) -> UInt64 {
        guard let figures = routes.first(where: { $0.label == route })?.figures else { return 0 }
        return figures.statuses[MetricsLayout.statuses.firstIndex(of: status) ?? MetricsLayout.statuses.count]
    }

    mutating func add(_ other: MetricsSnapshot) {
        for index in counters.indices { counters[index] &+= other.counters[index] }
        for (label, figures) in other.routes {
            if let index = routes.firstIndex(where: { $0.label == label }) {
                routes[index].figures.add(figures)
            } else {
                routes.append((label, figures))
            }
        }
    }
}
