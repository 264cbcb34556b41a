/**
 * The one way tests make a user: a fresh id each time, so suites sharing a database never
 * see each other's rows and isolation checks start from nothing.
 */
import { UserId } from "@taskport/core"

export const newUser = (): UserId => UserId.make(`user-${crypto.randomUUID()}`)
