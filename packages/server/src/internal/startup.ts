import * as Redacted from "effect/Redacted"

/** @internal */
export const minTokenLength = 16

const loopback = new Set(["127.0.0.1", "localhost", "::1"])

/** @internal */
export const isLoopback = (host: string): boolean => loopback.has(host) || host.startsWith("127.")

/** @internal */
export const defaultHost = "127.0.0.1"

/**
 * Why a token is refused at start, if it is: a short one is guessed, an empty one matches a missing header.
 *
 * @internal
 */
export const weakTokenReason = (token: Redacted.Redacted | undefined): string | undefined =>
  token !== undefined && Redacted.value(token).length < minTokenLength
    ? `a token must be at least ${minTokenLength} characters long; an empty or short one protects nothing`
    : undefined

/**
 * Why an address is refused at start, if it is: beyond loopback, a service without a token is open to anyone.
 *
 * @internal
 */
export const unsafeBindingReason = (host: string, token: Redacted.Redacted | undefined): string | undefined =>
  !isLoopback(host) && token === undefined
    ? `binding ${host} exposes the store beyond this machine: start the service with a token`
    : undefined
