import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Formats timestamps for HTTP and JSON with `gmtime_r`: thread-safe (a shared DateFormatter is
/// not) and cheap on the hot path (every session answer sets a cookie with an expiry).
public enum HTTPDate {
    private static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    private static func components(_ seconds: Int64) -> tm {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        return parts
    }

    private static func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }

    /// RFC 7231 IMF-fixdate, as cookie `expires` wants it: `Tue, 08 Dec 2026 09:00:00 GMT`.
    public static func rfc1123(_ seconds: Int64) -> String {
        var out: [UInt8] = []
        appendRFC1123(seconds, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// The same, appended as bytes (every rotation writes one into its cookie).
    package static func appendRFC1123(_ seconds: Int64, to out: inout [UInt8]) {
        let t = components(seconds)
        func digits(_ value: Int32, _ count: Int) {
            var divisor: Int32 = 1
            for _ in 1..<count { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                out.append(UInt8(ascii: "0") + UInt8(rest / divisor % 10))
                rest %= divisor
                divisor /= 10
            }
        }
        out.append(contentsOf: weekdays[Int(t.tm_wday)].utf8)
        out.append(contentsOf: ", ".utf8)
        digits(t.tm_mday, 2)
        out.append(UInt8(ascii: " "))
        out.append(contentsOf: months[Int(t.tm_mon)].utf8)
        out.append(UInt8(ascii: " "))
        out.append(contentsOf: String(t.tm_year + 1900).utf8)  // the year is not zero-padded
        out.append(UInt8(ascii: " "))
        digits(t.tm_hour, 2)
        out.append(UInt8(ascii: ":"))
        digits(t.tm_min, 2)
        out.append(UInt8(ascii: ":"))
        digits(t.tm_sec, 2)
        out.append(contentsOf: " GMT".utf8)
    }

    /// RFC 5322 §3.3, for a mail's Date header: the same fields with a numeric zone
    /// (`Tue, 08 Dec 2026 09:00:00 +0000`; "GMT" is only obsolete syntax there).
    public static func rfc5322(_ seconds: Int64) -> String {
        rfc1123(seconds).dropLast(3) + "+0000"
    }

    /// ISO 8601 in UTC: `2026-11-24T09:00:00Z`.
    public static func iso8601(_ seconds: Int64) -> String {
        let t = components(seconds)
        return "\(t.tm_year + 1900)-\(two(t.tm_mon + 1))-\(two(t.tm_mday))T\(two(t.tm_hour)):\(two(t.tm_min)):\(two(t.tm_sec))Z"
    }
}
