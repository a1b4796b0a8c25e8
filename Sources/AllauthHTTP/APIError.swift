import AllauthCore
import FastCGI
import HTTPTypes

/// Every way a request can fail, mapped to HTTP in one place (`response`), so every endpoint
/// answers the same shapes for the same failures.
public enum APIError: Error {
    case notFound
    case methodNotAllowed(HTTPRequest.Method, allowed: [HTTPRequest.Method])
    case payloadTooLarge(limit: Int)
    case invalidContentLength
    case unsupportedMediaType(String)
    /// Malformed JSON: the reference's `JSON parse error - …`.
    case parseError(String)
    /// `{"field": ["message", …]}`, cross-field errors under `non_field_errors`.
    case validation([(field: String, messages: [String])])
    /// `{"detail": …}` with status 400.
    case badRequest(String)
    /// 401 with an optional machine code, extra body members and a `WWW-Authenticate` challenge.
    case unauthorized(String, code: String?, extra: [(String, JSON)] = [], challenge: String = "Bearer realm=\"api\"")
    case forbidden(String, code: String? = nil)
    case throttled(String, retryAfter: Int)
    /// The database stayed locked beyond its busy timeout: a transient overload.
    case busy
    /// The database server cannot be reached (restarting, or the connection was cut).
    case storeUnavailable
    /// `{"detail", "code"}` with any status: the social endpoints' refusals (as in django-jwt-allauth).
    case coded(HTTPResponse.Status, String, code: String)

    public static func field(_ name: String, _ message: String) -> APIError { .validation([(name, [message])]) }

    static let notProvided = APIError.unauthorized("Authentication credentials were not provided.", code: nil)

    static func tokenNotValid(_ detail: String = "Token is invalid or expired") -> APIError {
        .unauthorized(detail, code: "token_not_valid")
    }

    public var response: Response {
        switch self {
        case .notFound:
            return .json(.object([("detail", "Not found.")]), status: .notFound)
        case .methodNotAllowed(let method, let allowed):
            var response = Response.json(.object([("detail", .string("Method \"\(method.rawValue)\" not allowed."))]), status: .methodNotAllowed)
            response.headerFields[.allow] = (allowed + [.options]).map(\.rawValue).joined(separator: ", ")
            return response
        case .payloadTooLarge(let limit):
            return .json(.object([("detail", .string("Request body exceeds \(limit) bytes.")), ("code", "payload_too_large")]), status: .contentTooLarge)
        case .invalidContentLength:
            return .json(.object([("detail", "Invalid Content-Length."), ("code", "bad_request")]), status: .badRequest)
        case .unsupportedMediaType(let type):
            return .json(.object([("detail", .string("Unsupported media type \"\(type)\" in request."))]), status: .unsupportedMediaType)
        case .parseError(let message):
            return .json(.object([("detail", .string("JSON parse error - \(message)"))]), status: .badRequest)
        case .validation(let errors):
            return .json(.object(errors.map { ($0.field, .array($0.messages.map(JSON.string))) }), status: .badRequest)
        case .badRequest(let detail):
            return .json(.object([("detail", .string(detail))]), status: .badRequest)
        case .unauthorized(let detail, let code, let extra, let challenge):
            var members: [(String, JSON)] = [("detail", .string(detail))]
            if let code { members.append(("code", .string(code))) }
            var response = Response.json(.object(members + extra), status: .unauthorized)
            response.headerFields[.wwwAuthenticate] = challenge
            return response
        case .forbidden(let detail, let code):
            var members: [(String, JSON)] = [("detail", .string(detail))]
            if let code { members.append(("code", .string(code))) }
            return .json(.object(members), status: .forbidden)
        case .throttled(let detail, let retryAfter):
            var response = Response.json(.object([("detail", .string(detail)), ("code", "throttled")]), status: .tooManyRequests)
            response.headerFields[.retryAfter] = String(retryAfter)
            return response
        case .busy:
            var response = Response.json(.object([("detail", "The service is busy; try again."), ("code", "busy")]), status: .serviceUnavailable)
            response.headerFields[.retryAfter] = "1"
            return response
        case .storeUnavailable:
            var response = Response.json(.object([("detail", "The database is unavailable; try again."), ("code", "database_unavailable")]),
                                         status: .serviceUnavailable)
            response.headerFields[.retryAfter] = "1"
            return response
        case .coded(let status, let detail, let code):
            return .json(.object([("detail", .string(detail)), ("code", .string(code))]), status: status)
        }
    }
}

extension Response {
    /// A JSON response in the reference's shape: compact, UTF-8, `application/json`.
    public static func json(_ body: JSON, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headerFields: jsonFields, body: body.encoded())
    }

    /// Made once: setting the two fields anew checked their values at every answer.
    /// Answers carry tokens or account data: never cache them.
    private static let jsonFields: HTTPFields = [.contentType: "application/json", .cacheControl: "no-store"]

    static func detail(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        .json(.object([("detail", .string(text))]), status: status)
    }
}
