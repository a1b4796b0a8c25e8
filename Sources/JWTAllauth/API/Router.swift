import FastCGI
import HTTPTypes

/// Matches a request path below the mount point to a route, with `<name>` segments captured.
/// Paths keep the reference's trailing slash; the slash-less form is not served.
struct Router: Sendable {
    typealias Handler = @Sendable (Request, HandlerContext) throws -> Response

    struct Route: Sendable {
        let segments: [String]
        var handlers: [(HTTPRequest.Method, Handler)]
    }

    let mount: String
    private(set) var routes: [Route] = []

    init(mount: String) { self.mount = mount }

    mutating func add(_ pattern: String, _ method: HTTPRequest.Method, _ handler: @escaping Handler) {
        let segments = pattern.split(separator: "/").map(String.init)
        if let index = routes.firstIndex(where: { $0.segments == segments }) {
            routes[index].handlers.append((method, handler))
        } else {
            routes.append(Route(segments: segments, handlers: [(method, handler)]))
        }
    }

    enum Match {
        case handler(Handler, parameters: [String: String])
        case methodNotAllowed([HTTPRequest.Method])
        case notFound
    }

    /// The route patterns in the order added (`login/`, `sessions/<id>/`), then `unmatched`:
    /// the `route` label of the metrics; `resolve` answers an index into this list.
    var labels: [String] { routes.map { $0.segments.joined(separator: "/") + "/" } + ["unmatched"] }

    func match(method: HTTPRequest.Method, path: String) -> Match {
        resolve(method: method, path: path).match
    }

    /// The match and the index of the route in `labels` (the last one when nothing matched).
    func resolve(method: HTTPRequest.Method, path: String) -> (match: Match, route: Int) {
        guard path.hasPrefix(mount + "/"), path.hasSuffix("/") else { return (.notFound, routes.count) }
        let segments = path.dropFirst(mount.count).split(separator: "/", omittingEmptySubsequences: false).dropFirst().dropLast()
        guard !segments.contains(where: \.isEmpty) else { return (.notFound, routes.count) }
        for (index, route) in routes.enumerated() where route.segments.count == segments.count {
            var parameters: [String: String] = [:]
            var matched = true
            for (pattern, segment) in zip(route.segments, segments) {
                if pattern.hasPrefix("<") && pattern.hasSuffix(">") {
                    parameters[String(pattern.dropFirst().dropLast())] = String(segment)
                } else if pattern != segment {
                    matched = false
                    break
                }
            }
            guard matched else { continue }
            // HEAD is answered by the GET handler (the body is dropped by `App`).
            let wanted = method == .head ? HTTPRequest.Method.get : method
            if let handler = route.handlers.first(where: { $0.0 == wanted })?.1 {
                return (.handler(handler, parameters: parameters), index)
            }
            var allowed = route.handlers.map(\.0)
            if allowed.contains(.get) { allowed.append(.head) }
            return (.methodNotAllowed(allowed), index)
        }
        return (.notFound, routes.count)
    }
}
