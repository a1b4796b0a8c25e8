import CPostgreSQL
import CSQLite
import Foundation

/// One result row, columns by position, readable the same way from either engine: a stepped
/// SQLite statement, or one row of a PostgreSQL result (text format, so every value arrives as
/// its text, parsed here). A plain switch per read keeps SQLite's path as cheap as before.
public struct Row {
    enum Source {
        case sqlite(OpaquePointer)
        /// A `PGresult` and the row's index in it.
        case postgreSQL(OpaquePointer, Int32)
    }

    let source: Source

    public func isNull(_ column: Int32) -> Bool {
        switch source {
        case .sqlite(let statement): sqlite3_column_type(statement, column) == SQLITE_NULL
        case .postgreSQL(let result, let row): PQgetisnull(result, row, column) != 0
        }
    }

    public func int(_ column: Int32) -> Int64 {
        switch source {
        case .sqlite(let statement): sqlite3_column_int64(statement, column)
        case .postgreSQL(let result, let row): strtoll(PQgetvalue(result, row, column), nil, 10)
        }
    }

    /// PostgreSQL writes a boolean as `t`/`f`; flags stored as integers read as on SQLite.
    public func bool(_ column: Int32) -> Bool {
        switch source {
        case .sqlite(let statement): return sqlite3_column_int64(statement, column) != 0
        case .postgreSQL(let result, let row):
            guard let text = PQgetvalue(result, row, column) else { return false }
            if text.pointee == UInt8(ascii: "t") { return true }
            if text.pointee == UInt8(ascii: "f") { return false }
            return strtoll(text, nil, 10) != 0
        }
    }

    public func optionalInt(_ column: Int32) -> Int64? { isNull(column) ? nil : int(column) }
    public func optionalBool(_ column: Int32) -> Bool? { isNull(column) ? nil : bool(column) }

    public func double(_ column: Int32) -> Double {
        switch source {
        case .sqlite(let statement): sqlite3_column_double(statement, column)
        case .postgreSQL(let result, let row): strtod(PQgetvalue(result, row, column), nil)
        }
    }

    /// By byte count, not up to the first NUL: a stored value comes back whole.
    public func string(_ column: Int32) -> String {
        switch source {
        case .sqlite(let statement):
            guard let text = sqlite3_column_text(statement, column) else { return "" }
            let count = Int(sqlite3_column_bytes(statement, column))
            return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
        case .postgreSQL(let result, let row):
            guard let text = PQgetvalue(result, row, column) else { return "" }
            let count = Int(PQgetlength(result, row, column))
            return text.withMemoryRebound(to: UInt8.self, capacity: count) {
                String(decoding: UnsafeBufferPointer(start: $0, count: count), as: UTF8.self)
            }
        }
    }

    public func optionalString(_ column: Int32) -> String? { isNull(column) ? nil : string(column) }

    public func blob(_ column: Int32) -> [UInt8] {
        switch source {
        case .sqlite(let statement):
            guard let bytes = sqlite3_column_blob(statement, column) else { return [] }
            return Array(UnsafeRawBufferPointer(start: bytes, count: Int(sqlite3_column_bytes(statement, column))))
        case .postgreSQL(let result, let row):
            // bytea in text format is `\x` + hex; libpq's own decoder reads it.
            guard let text = PQgetvalue(result, row, column) else { return [] }
            var count = 0
            guard let bytes = text.withMemoryRebound(to: UInt8.self, capacity: 1, { PQunescapeBytea($0, &count) }) else { return [] }
            defer { PQfreemem(bytes) }
            return Array(UnsafeBufferPointer(start: bytes, count: count))
        }
    }

    /// The column as whatever type it holds (copying rows between engines: `StoreCopy`).
    public func value(_ column: Int32) -> SQLValue {
        if isNull(column) { return .null }
        switch source {
        case .sqlite(let statement):
            switch sqlite3_column_type(statement, column) {
            case SQLITE_INTEGER: return .integer(int(column))
            case SQLITE_FLOAT: return .real(double(column))
            case SQLITE_BLOB: return .blob(blob(column))
            default: return .text(string(column))
            }
        case .postgreSQL(let result, _):
            switch PQftype(result, column) {
            case 20, 21, 23: return .integer(int(column))  // int8, int2, int4
            case 700, 701: return .real(double(column))  // float4, float8
            case 17: return .blob(blob(column))  // bytea
            default: return .text(string(column))
            }
        }
    }
}
