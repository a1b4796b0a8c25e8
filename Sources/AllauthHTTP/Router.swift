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
    /// Full paths of the routes without parameters (`/jwt-allauth/verify/`) → their index: one
    /// hash lookup for the hot endpoints instead of splitting the path and walking every route.
    private var literalPaths: [String: Int] = [:]

    init(mount: String) { self.mount = mount }

    mutating func add(_ pattern: String, _ method: HTTPRequest.Method, _ handler: @escaping Handler) {
        let segments = pattern.split(separator: "/").map(String.init)
        if let index = routes.firstIndex(where: { $0.segments == segments }) {
            routes[index].handlers.append((method, handler))
        } else {
            let path = mount + "/" + segments.joined(separator: "/") + "/"
            // Only when no earlier route with parameters would match it first (the walk's order).
            if !segments.contains(where: { $0.hasPrefix("<") }), case .notFound = resolve(method: method, path: path).match {
                literalPaths[path] = routes.count
            }
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
        if let index = literalPaths[path] { return (answer(routes[index], method: method, parameters: [:]), index) }
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
            return (answer(route, method: method, parameters: parameters), index)
        }
        return (.notFound, routes.count)
    }

    private func answer(_ route: Route, method: HTTPRequest.Method, parameters: [String: String]) -> Match {
        if let handler = route.handlers.first(where: { $0.0 == method })?.1 {
            return .handler(handler, parameters: parameters)
        }
        // HEAD is answered by the GET handler (the body is dropped by `App`), unless the route has
        // a HEAD handler of its own: a link whose GET acts (`Service.addLinkRoute`) must not act
        // for a mail scanner's HEAD.
        if method == .head, let handler = route.handlers.first(where: { $0.0 == .get })?.1 {
            return .handler(handler, parameters: parameters)
        }
        var allowed = route.handlers.map(\.0)
        if allowed.contains(.get) && !allowed.contains(.head) { allowed.append(.head) }
        return .methodNotAllowed(allowed)
    }
}
