import HTTPTypes

extension HTTPFields {
    /// Appends one field, as `append(_:)` does, through the library's inlinable code. `append(_:)`
    /// is `RangeReplaceableCollection`'s `insert` calling the unspecialised generic
    /// `replaceSubrange`, which cost ~1,200 instructions a field (bench/callgrind.sh), more than
    /// the rest of building an answer's headers. `subscript(fields:)` appends the fields of a name
    /// that has none, and rewrites those it has in place followed by the new one: the same order
    /// as `append(_:)` in both cases.
    public mutating func appendField(_ field: HTTPField) {
        self[fields: field.name].append(field)
    }
}
