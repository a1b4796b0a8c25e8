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
    /// The header fields, except `Authorization` and `Cookie` (below).
    public var headerFields: HTTPFields
    /// The `Authorization` header (repeated ones joined with ", "), kept out of `headerFields`: it
    /// carries a ~500-byte token on every authenticated request, and `HTTPField`'s check of its
    /// bytes was 15% of a verify/ request (bench/callgrind.sh). `RequestDecoder` checks it with
    /// `HeaderValue` instead, to the same result.
    public var authorization: String?
    /// Cookies by name; when a name repeats, the first occurrence wins (as browsers send the most
    /// specific first). The `Cookie` header itself is not kept, for the same reason as `authorization`.
    public var cookies: [String: String]
    /// The client address as nginx resolved it (after its realip module, if configured).
    public var remoteAddress: String
    /// True when nginx says the client connection was TLS (`HTTPS=on`).
    public var isSecure: Bool
    /// True when nginx says the client is one of the site's monitoring addresses
    /// (`JWT_ALLAUTH_MONITORING=1`, set from a `geo` of the metrics allow-list). A client cannot
    /// send it: it is a variable of nginx's, not a header.
    public var isMonitoring = false
    public var body: [UInt8]
    public var bodyStatus: BodyStatus

    /// `Authorization` and `Cookie` in `headerFields` are moved to `authorization` and `cookies`.
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
        var fields = headerFields
        let authorization = fields[.authorization]
        let cookies = Request.parseCookies(fields[values: .cookie])
        fields[.authorization] = nil
        fields[.cookie] = nil
        self.init(method: method, path: path, query: query, headerFields: fields, authorization: authorization, cookies: cookies,
                  remoteAddress: remoteAddress, isSecure: isSecure, body: body, bodyStatus: bodyStatus)
    }

    /// What `RequestDecoder` builds: the two headers already set apart.
    init(method: HTTPRequest.Method, path: String, query: String, headerFields: HTTPFields, authorization: String?,
         cookies: [String: String], remoteAddress: String, isSecure: Bool, body: [UInt8], bodyStatus: BodyStatus) {
        self.method = method
        self.path = path
        self.query = query
        self.headerFields = headerFields
        self.authorization = authorization
        self.cookies = cookies
        self.remoteAddress = remoteAddress
        self.isSecure = isSecure
        self.body = body
        self.bodyStatus = bodyStatus
    }

    /// Parses `Cookie` header values (`a=1; b=2`). Malformed pairs are skipped, surrounding quotes
    /// removed. Works on the contiguous bytes: a refresh cookie is ~1 KB and this runs on every
    /// request; the generic `split` of the UTF8View was 4% of a rotation (bench/callgrind.sh).
    public static func parseCookies(_ headerValues: [String]) -> [String: String] {
        var cookies: [String: String] = [:]
        for header in headerValues {
            var header = header
            header.withUTF8 { bytes in
                var pairStart = 0
                while pairStart <= bytes.count {
                    let pairEnd = bytes[pairStart...].firstIndex(of: UInt8(ascii: ";")) ?? bytes.count
                    defer { pairStart = pairEnd + 1 }
                    guard let equals = bytes[pairStart..<pairEnd].firstIndex(of: UInt8(ascii: "=")) else { continue }
                    let name = trimmed(pairStart..<equals, bytes)
                    var value = trimmed(equals + 1..<pairEnd, bytes)
                    if value.count >= 2, bytes[value.lowerBound] == UInt8(ascii: "\""), bytes[value.upperBound - 1] == UInt8(ascii: "\"") {
                        value = value.lowerBound + 1..<value.upperBound - 1
                    }
                    guard !name.isEmpty else { continue }
                    // Bytes cut at ASCII ";", "=", spaces and quotes: still valid UTF-8, as the header was.
                    let key = String(decoding: UnsafeBufferPointer(rebasing: bytes[name]), as: UTF8.self)
                    if cookies[key] == nil { cookies[key] = String(decoding: UnsafeBufferPointer(rebasing: bytes[value]), as: UTF8.self) }
                }
            }
        }
        return cookies
    }

    /// `range` without the spaces and tabs at either end.
    private static func trimmed(_ range: Range<Int>, _ bytes: UnsafeBufferPointer<UInt8>) -> Range<Int> {
        var lower = range.lowerBound, upper = range.upperBound
        while lower < upper, bytes[lower] == 0x20 || bytes[lower] == 0x09 { lower += 1 }
        while upper > lower, bytes[upper - 1] == 0x20 || bytes[upper - 1] == 0x09 { upper -= 1 }
        return lower..<upper
    }
}
