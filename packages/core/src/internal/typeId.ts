/**
 * Marks every instance of an error class with its type id, on the prototype as `@effect/platform`'s `TypeIdError`
 * does: not an own property, so instances compare, print and encode as before, and the guard is one `in` check that
 * holds for instances decoded from the wire (the class's Schema builds them) and for another copy of the package
 * (the id is a `Symbol.for`). A plain object with the same `_tag` is not an instance.
 *
 * @internal
 */
export const markPrototype = (errorClass: { readonly prototype: object }, typeId: symbol): void => {
  Object.defineProperty(errorClass.prototype, typeId, { value: typeId })
}
