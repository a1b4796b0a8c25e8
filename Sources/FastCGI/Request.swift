import HTTPTypes

/// An HTTP request as nginx handed it over FastCGI: a plain value with no I/O attached.
public struct Request: Sendable {
    /// What became of the request body while it was read from the web server.
    public enum BodyStatus: Sendable, Equatable {
        case complete
        /// CONTENT_LENGTH (or the bytes actually sent) exceeded the configured limit; the body was not kept.
        case tooLarge
        /// CONTENT_LENGTH was present but not a non-negative integer.
        case invalidLength
    }

    public var method: HTTPRequest.Method
    /// The decoded, normalised path (nginx's `$document_uri`), without the query string.
    public var path: String
    /// The raw query string, without the leading `?`.
    public var query: String
    public var headerFields: HTTPFields
    /// Cookies by name; when a name repeats, the first occurrence wins (as browsers send the most specific first).
    public var cookies: [String: String]
    /// The client address as nginx resolved it (after its realip module, if configured).
    public var remoteAddress: String
    /// True when nginx says the client connection was TLS (`HTTPS=on`).
    public var isSecure: Bool
    public var body: [UInt8]
    public var bodyStatus: BodyStatus

    public init(
        method: HTTPRequest.Method,
        path: String,
        query: String = "",
        headerFields: HTTPFields = [:],
        remoteAddress: String = "127.0.0.1",
        isSecure: Bool = false,
        body: [UInt8] = [],
        bodyStatus: BodyStatus = .complete
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headerFields = headerFields
        self.cookies = Request.parseCookies(headerFields[values: .cookie])
        self.remoteAddress = remoteAddress
        self.isSecure = isSecure
        self.body = body
        self.bodyStatus = bodyStatus
    }

    /// Parses `Cookie` header values (`a=1; b=2`). Malformed pairs are skipped, surrounding quotes removed.
    public static func parseCookies(_ headerValues: [String]) -> [String: String] {
        var cookies: [String: String] = [:]
        for header in headerValues {
            for pair in header.split(separator: ";") {
                guard let equals = pair.firstIndex(of: "=") else { continue }
                let name = pair[..<equals].trimmingSpaces()
                var value = pair[pair.index(after: equals)...].trimmingSpaces()
                if value.count >= 2, value.first == "\"", value.last == "\"" {
                    value = String(value.dropFirst().dropLast())
                }
                guard !name.isEmpty, cookies[name] == nil else { continue }
                cookies[name] = value
            }
        }
        return cookies
    }
}

extension Substring {
    func trimmingSpaces() -> String {
        var slice = self[...]
        while let first = slice.first, first == " " || first == "\t" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice = slice.dropLast() }
        return String(slice)
    }
}
