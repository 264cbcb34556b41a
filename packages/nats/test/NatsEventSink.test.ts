/**
 * Publishing the outbox to a real NATS JetStream: events arrive on one subject per type, in
 * each user's order, with the event id as Nats-Msg-Id; a repeat is dropped by the stream;
 * with the broker cut off (a TCP proxy between the publisher and NATS) events wait in the
 * outbox and all arrive, once, after it returns.
 */
import { describe, expect, layer } from "@effect/vitest"
import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { EventSink, publishEvents, TaskRepository, UserId } from "@taskport/core"
import { NatsEventSink } from "@taskport/nats"
import { newTask } from "@taskport/test-support/Tasks"
import { proxyFor } from "@taskport/test-support/TcpProxy"
import { testDatabases } from "@taskport/test-support/TestDatabase"
import { natsUrl } from "@taskport/test-support/TestNats"
import { Effect } from "effect"

const url = natsUrl()

/** A stream and subject prefix of the test's own, removed afterwards. */
const scratchStream = Effect.gen(function* () {
  const tag = crypto.randomUUID().replace(/-/g, "").slice(0, 12)
  const admin = yield* Effect.acquireRelease(
    Effect.promise(() => connect({ servers: url! })),
    (nc) => Effect.promise(() => nc.close())
  )
  const stream = `TEST_${tag}`
  yield* Effect.addFinalizer(() =>
    Effect.promise(async () => {
      const manager = await jetstreamManager(admin)
      await manager.streams.delete(stream).catch(() => false)
    })
  )
  return { admin, stream, prefix: `test_${tag}.events` }
})

/** Every message of the stream, read by a real (ordered) consumer. */
const consume = (admin: NatsConnection, stream: string, count: number) =>
  Effect.promise(async () => {
    const consumer = await jetstream(admin).consumers.get(stream)
    const messages = await consumer.fetch({ max_messages: count + 5, expires: 2_000 })
    const seen: Array<{
      subject: string
      msgId: string | undefined
      body: { id: string; position: number }
    }> = []
    for await (const message of messages) {
      seen.push({
        subject: message.subject,
        msgId: message.headers?.get("Nats-Msg-Id"),
        body: message.json()
      })
      if (message.info.pending === 0) break
    }
    return seen
  })

if (url !== undefined) {
  for (const database of testDatabases()) {
    describe(`NATS JetStream publishing on ${database.name}`, () => {
      layer(database.layer(), { timeout: 120_000, excludeTestServices: true })((it) => {
        it.effect(
          "N1: events arrive on one subject per type, in order, with the event id as Nats-Msg-Id",
          () =>
            Effect.gen(function* () {
              const { admin, stream, prefix } = yield* scratchStream
              const sink = yield* NatsEventSink.make({ url, stream, subjectPrefix: prefix })
              const tasks = yield* TaskRepository
              const user = UserId.make(`nats-${crypto.randomUUID()}`)
              const task = yield* tasks.insert(user, newTask("one"))
              yield* tasks.setCompleted(user, task.id, true, undefined)
              yield* tasks.update(user, task.id, { title: "one, renamed" }, undefined)
              const published = yield* publishEvents({ users: 1000, events: 100 }).pipe(
                Effect.provideService(EventSink, sink)
              )
              expect(published).toBeGreaterThanOrEqual(3)
              const mine = (yield* consume(admin, stream, published)).filter((m) =>
                m.subject.startsWith(prefix)
              )
              const subjects = mine.map((m) => m.subject.slice(prefix.length + 1))
              expect(subjects.slice(-3)).toEqual(["task.created", "task.completed", "task.updated"])
              for (const message of mine) expect(message.msgId).toBe(message.body.id)
              const positions = mine.slice(-3).map((m) => m.body.position)
              expect(positions).toEqual([...positions].sort((a, b) => a - b))
              // Nothing is published twice: the cursor moved past what was acknowledged.
              expect(
                yield* publishEvents({ users: 1000, events: 100 }).pipe(
                  Effect.provideService(EventSink, sink)
                )
              ).toBe(0)
            })
        )

        it.effect("N2: an event published again is dropped by the stream's de-duplication", () =>
          Effect.gen(function* () {
            const { admin, stream, prefix } = yield* scratchStream
            const sink = yield* NatsEventSink.make({ url, stream, subjectPrefix: prefix })
            const tasks = yield* TaskRepository
            const user = UserId.make(`nats-${crypto.randomUUID()}`)
            yield* tasks.insert(user, newTask("twice"))
            const events = yield* publishEvents({ users: 1000, events: 100 }).pipe(
              Effect.provideService(EventSink, sink)
            )
            expect(events).toBeGreaterThanOrEqual(1)
            const before = (yield* consume(admin, stream, events)).filter((m) => m.subject.startsWith(prefix))
            const last = before.at(-1)!
            // The same event again, as after a crash between the publish and the cursor's update.
            const js = jetstream(admin)
            const ack = yield* Effect.promise(() =>
              js.publish(last.subject, JSON.stringify(last.body), { msgID: last.body.id })
            )
            expect(ack.duplicate).toBe(true)
            const manager = yield* Effect.promise(() => jetstreamManager(admin))
            const info = yield* Effect.promise(() => manager.streams.info(stream))
            expect(info.state.messages).toBe(before.length)
          })
        )

        it.effect("N3: with the broker cut off events wait in the outbox, then all arrive once", () =>
          Effect.gen(function* () {
            const { admin, stream, prefix } = yield* scratchStream
            const { proxy, url: through } = yield* proxyFor(url.includes("://") ? url : `nats://${url}`)
            const sink = yield* NatsEventSink.make({
              url: through,
              stream,
              subjectPrefix: prefix,
              publishTimeoutMs: 500
            })
            const round = publishEvents({ users: 1000, events: 100 }).pipe(
              Effect.provideService(EventSink, sink)
            )
            const tasks = yield* TaskRepository
            const user = UserId.make(`nats-${crypto.randomUUID()}`)
            yield* tasks.insert(user, newTask("before"))
            yield* round
            proxy.cut()
            for (const title of ["during 1", "during 2", "during 3"])
              yield* tasks.insert(user, newTask(title))
            expect(yield* round).toBe(0)
            proxy.restore()
            // The client reconnects by itself; rounds go on until the outbox is drained.
            let published = 0
            for (let attempt = 0; attempt < 50 && published < 3; attempt++) {
              published += yield* round
              if (published < 3) yield* Effect.sleep("200 millis")
            }
            expect(published).toBe(3)
            const titles = (yield* consume(admin, stream, 10))
              .filter((m) => m.subject === `${prefix}.task.created`)
              .map((m) => (m.body as unknown as { task: { title: string } }).task.title)
            expect(titles).toEqual(["before", "during 1", "during 2", "during 3"])
          })
        )
      })
    })
  }
}
