/**
 * The task view: quick add, the filters and sorting the API offers, a list paged by cursor
 * as it scrolls, and per task complete/reopen, inline editing of every field (with the
 * version it was read at, so a change made elsewhere is caught as 412) and delete with undo
 * where the server can restore; there the status filter also offers the trash, whose tasks
 * are only restored.
 */
import {
  type FormEvent,
  type InputHTMLAttributes,
  type KeyboardEvent,
  type Ref,
  useCallback,
  useEffect,
  useId,
  useRef,
  useState
} from "react"
import {
  ApiError,
  api,
  type Capabilities,
  PAGE_SIZE,
  type Task,
  type TaskFilters,
  type TaskInput
} from "./api.ts"
import { watchTaskEvents } from "./liveEvents.ts"
import type { NoticeState } from "./Notice.tsx"

type Notify = (notice: NoticeState) => void

const PRIORITIES = ["low", "medium", "high"] as const
type Priority = (typeof PRIORITIES)[number]

type InputProps = Omit<InputHTMLAttributes<HTMLInputElement>, "id" | "value" | "onChange" | "className">

/** A labelled text input of the add and edit forms. */
const TextField = ({
  id,
  label,
  value,
  onChange,
  grow = false,
  inputRef,
  ...input
}: InputProps & {
  readonly id: string
  readonly label: string
  readonly value: string
  readonly onChange: (value: string) => void
  readonly grow?: boolean
  readonly inputRef?: Ref<HTMLInputElement>
}) => (
  <div className={grow ? "field grow" : "field"}>
    <label htmlFor={id}>{label}</label>
    <input
      id={id}
      ref={inputRef}
      value={value}
      onChange={(event) => onChange(event.target.value)}
      {...input}
    />
  </div>
)

/** The priority choice of the add and edit forms, and (with an `any` choice) of the filters. */
const PriorityField = <V extends string>({
  id,
  value,
  onChange,
  any
}: {
  readonly id: string
  readonly value: V
  readonly onChange: (value: V) => void
  /** The label of a first choice with the empty value, for "no preference". */
  readonly any?: string
}) => (
  <div className="field">
    <label htmlFor={id}>Priority</label>
    <select id={id} value={value} onChange={(event) => onChange(event.target.value as V)}>
      {any === undefined ? null : <option value="">{any}</option>}
      {PRIORITIES.map((value) => (
        <option key={value} value={value}>
          {value}
        </option>
      ))}
    </select>
  </div>
)

const splitTags = (text: string) =>
  text
    .split(",")
    .map((tag) => tag.trim())
    .filter((tag) => tag !== "")

const describeError = (error: unknown) =>
  error instanceof ApiError ? error.explanation : "The server could not be reached; try again."

const formatDue = (due: string | null | undefined) => {
  if (due === null || due === undefined) return undefined
  const plain = /^\d{4}-\d{2}-\d{2}$/.test(due)
  const instant = Date.parse(plain ? `${due}T00:00:00Z` : due.replace(/\[.*\]$/, ""))
  if (Number.isNaN(instant)) return due
  return new Intl.DateTimeFormat(
    undefined,
    plain
      ? { dateStyle: "medium", timeZone: "UTC" }
      : {
          dateStyle: "medium",
          timeStyle: "short"
        }
  ).format(instant)
}

const QuickAdd = ({ onCreated, notify }: { onCreated: (task: Task) => void; notify: Notify }) => {
  const [title, setTitle] = useState("")
  const [due, setDue] = useState("")
  const [priority, setPriority] = useState<Priority>("medium")
  const [tags, setTags] = useState("")
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string>()
  const id = useId()
  const submit = async (event: FormEvent) => {
    event.preventDefault()
    if (title.trim() === "") {
      setError("title: a task needs a title")
      return
    }
    setBusy(true)
    try {
      const input: TaskInput = {
        title,
        priority,
        ...(due.trim() === "" ? {} : { due: due.trim() }),
        ...(tags.trim() === "" ? {} : { tags: splitTags(tags) })
      }
      const task = await api.createTask(input)
      onCreated(task)
      setTitle("")
      setDue("")
      setTags("")
      setPriority("medium")
      setError(undefined)
      notify({ text: `Added “${task.title}”.`, tone: "info" })
    } catch (failure) {
      setError(describeError(failure))
    } finally {
      setBusy(false)
    }
  }
  return (
    <form className="quick-add" onSubmit={submit} aria-label="Add a task" noValidate>
      <TextField
        id={`${id}-title`}
        label="New task"
        grow
        value={title}
        onChange={setTitle}
        placeholder="What needs doing?"
        maxLength={200}
        aria-invalid={error?.startsWith("title") === true}
        aria-describedby={error === undefined ? undefined : `${id}-error`}
      />
      <TextField id={`${id}-due`} label="Due" value={due} onChange={setDue} placeholder="2026-12-01" />
      <PriorityField id={`${id}-priority`} value={priority} onChange={setPriority} />
      <TextField id={`${id}-tags`} label="Tags" value={tags} onChange={setTags} placeholder="home, errands" />
      <button type="submit" className="primary" disabled={busy}>
        Add
      </button>
      {error === undefined ? null : (
        <p id={`${id}-error`} className="field-error" role="alert">
          {error}
        </p>
      )}
    </form>
  )
}

const Filters = ({
  filters,
  onChange,
  trash
}: {
  filters: TaskFilters
  onChange: (filters: TaskFilters) => void
  trash: boolean
}) => {
  const id = useId()
  const [search, setSearch] = useState(filters.query)
  const [tag, setTag] = useState(filters.tag)
  // Typing is debounced so each keystroke does not cost a request.
  useEffect(() => {
    const timer = setTimeout(() => {
      if (search !== filters.query || tag !== filters.tag) onChange({ ...filters, query: search, tag })
    }, 250)
    return () => clearTimeout(timer)
  }, [search, tag, filters, onChange])
  return (
    <search className="filters" aria-label="Filter tasks">
      <div className="field grow">
        <label htmlFor={`${id}-q`}>Search</label>
        <input
          id={`${id}-q`}
          type="search"
          value={search}
          onChange={(event) => setSearch(event.target.value)}
        />
      </div>
      <div className="field">
        <label htmlFor={`${id}-status`}>Status</label>
        <select
          id={`${id}-status`}
          value={filters.status}
          onChange={(event) => onChange({ ...filters, status: event.target.value as TaskFilters["status"] })}
        >
          <option value="all">all</option>
          <option value="pending">pending</option>
          <option value="completed">completed</option>
          {trash ? <option value="trashed">trash</option> : null}
        </select>
      </div>
      <div className="field">
        <label htmlFor={`${id}-due`}>Due</label>
        <select
          id={`${id}-due`}
          value={filters.due}
          onChange={(event) => onChange({ ...filters, due: event.target.value as TaskFilters["due"] })}
        >
          <option value="">any time</option>
          <option value="overdue">overdue</option>
          <option value="today">today</option>
          <option value="upcoming">upcoming</option>
        </select>
      </div>
      <PriorityField
        id={`${id}-priority`}
        value={filters.priority}
        any="any"
        onChange={(priority) => onChange({ ...filters, priority })}
      />
      <div className="field">
        <label htmlFor={`${id}-tag`}>Tag</label>
        <input id={`${id}-tag`} value={tag} onChange={(event) => setTag(event.target.value)} size={10} />
      </div>
      <div className="field">
        <label htmlFor={`${id}-sort`}>Sort by</label>
        <select
          id={`${id}-sort`}
          value={filters.sort}
          onChange={(event) => onChange({ ...filters, sort: event.target.value as TaskFilters["sort"] })}
        >
          <option value="created_at">created</option>
          <option value="updated_at">updated</option>
          <option value="due">due</option>
          <option value="priority">priority</option>
          <option value="title">title</option>
        </select>
      </div>
      <div className="field">
        <label htmlFor={`${id}-order`}>Order</label>
        <select
          id={`${id}-order`}
          value={filters.order}
          onChange={(event) => onChange({ ...filters, order: event.target.value as TaskFilters["order"] })}
        >
          <option value="">default</option>
          <option value="asc">ascending</option>
          <option value="desc">descending</option>
        </select>
      </div>
    </search>
  )
}

interface Draft {
  title: string
  description: string
  due: string
  priority: Priority
  tags: string
}

const draftOf = (task: Task): Draft => ({
  title: task.title,
  description: task.description ?? "",
  due: task.due ?? "",
  priority: task.priority,
  tags: task.tags.join(", ")
})

/** The draft's fields that differ from the task it was opened on: what the person edited. */
const editedFields = (task: Task, draft: Draft): Partial<Draft> => {
  const original = draftOf(task)
  return Object.fromEntries(
    (Object.keys(draft) as Array<keyof Draft>)
      .filter((key) => draft[key] !== original[key])
      .map((key) => [key, draft[key]])
  )
}

/** Only the fields the person changed, so a save never overwrites the others. */
const changesOf = (task: Task, draft: Draft): TaskInput => {
  const original = draftOf(task)
  return {
    ...(draft.title !== original.title ? { title: draft.title } : {}),
    ...(draft.description !== original.description
      ? { description: draft.description === "" ? null : draft.description }
      : {}),
    ...(draft.due.trim() !== original.due ? { due: draft.due.trim() === "" ? null : draft.due.trim() } : {}),
    ...(draft.priority !== original.priority ? { priority: draft.priority } : {}),
    ...(draft.tags !== original.tags ? { tags: splitTags(draft.tags) } : {})
  }
}

interface ItemProps {
  readonly task: Task
  readonly onReplace: (task: Task) => void
  readonly onDelete: (task: Task) => void
  readonly notify: Notify
  /** Runs a write whose result the row shows before it is answered (see `Tasks`). */
  readonly shownAhead: Tracker
}

/** Runs `write` for task `id`, keeping news of the task from elsewhere until it is answered. */
type Tracker = <A>(id: number, write: () => Promise<A>) => Promise<A>

const TaskItem = ({ task, onReplace, onDelete, notify, shownAhead }: ItemProps) => {
  const [editing, setEditing] = useState(false)
  const [draft, setDraft] = useState<Draft>(() => draftOf(task))
  const [base, setBase] = useState(task)
  const [conflict, setConflict] = useState<Task>()
  const [error, setError] = useState<string>()
  const [busy, setBusy] = useState(false)
  const id = useId()
  const editButton = useRef<HTMLButtonElement>(null)
  const titleInput = useRef<HTMLInputElement>(null)

  useEffect(() => {
    if (editing) titleInput.current?.focus()
  }, [editing])

  const startEdit = () => {
    setDraft(draftOf(task))
    setBase(task)
    setConflict(undefined)
    setError(undefined)
    setEditing(true)
  }
  const stopEdit = () => {
    setEditing(false)
    setConflict(undefined)
    setError(undefined)
    requestAnimationFrame(() => editButton.current?.focus())
  }

  const save = async (event: FormEvent) => {
    event.preventDefault()
    const changes = changesOf(base, draft)
    if (Object.keys(changes).length === 0) {
      stopEdit()
      return
    }
    setBusy(true)
    try {
      const saved = await api.updateTask(base, changes)
      onReplace(saved)
      stopEdit()
      notify({ text: `Saved “${saved.title}”.`, tone: "info" })
    } catch (failure) {
      if (failure instanceof ApiError && failure.status === 412) {
        // Someone else changed it first: show what it is now and keep the person's edits,
        // based on the fresh version, so saving again is a deliberate overwrite.
        try {
          const fresh = await api.readTask(task.id)
          setConflict(fresh)
          setDraft({ ...draftOf(fresh), ...editedFields(base, draft) })
          setBase(fresh)
          onReplace(fresh)
        } catch (readFailure) {
          setError(describeError(readFailure))
        }
      } else {
        setError(describeError(failure))
      }
    } finally {
      setBusy(false)
    }
  }

  // Shown at once and put back if the server refuses, so the checkbox answers the click.
  // Only the latest click's answer is applied: a quick complete-then-reopen must not be
  // flipped back when the first request's answer arrives after the second click.
  const toggles = useRef(0)
  const toggle = async () => {
    const mine = ++toggles.current
    onReplace({ ...task, completed: !task.completed })
    try {
      const saved = await shownAhead(task.id, () => api.setCompleted(task.id, !task.completed))
      if (mine === toggles.current) onReplace(saved)
    } catch (failure) {
      if (mine === toggles.current) onReplace(task)
      notify({ text: describeError(failure), tone: "error" })
    }
  }

  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === "Escape") stopEdit()
  }

  const due = formatDue(task.due)
  return (
    <li id={`task-${task.id}`} className={`task${task.completed ? " done" : ""}`} tabIndex={-1}>
      <div className="task-row">
        <input
          type="checkbox"
          id={`${id}-done`}
          checked={task.completed}
          onChange={toggle}
          aria-label={task.completed ? `Reopen “${task.title}”` : `Complete “${task.title}”`}
        />
        <div className="task-main">
          <span className="task-title">{task.title}</span>
          <span className="task-meta">
            <span className={`badge priority-${task.priority}`}>{task.priority}</span>
            {due === undefined ? null : <span>due {due}</span>}
            {task.tags.map((tag) => (
              <span key={tag} className="tag">
                #{tag}
              </span>
            ))}
            <span className="muted">#{task.id}</span>
          </span>
          {task.description === null || task.description === undefined || editing ? null : (
            <p className="task-description">{task.description}</p>
          )}
        </div>
        <div className="task-actions">
          <button
            type="button"
            ref={editButton}
            onClick={editing ? stopEdit : startEdit}
            aria-expanded={editing}
          >
            {editing ? "Close" : "Edit"}
            <span className="visually-hidden"> “{task.title}”</span>
          </button>
          <button type="button" className="danger" onClick={() => onDelete(task)}>
            Delete<span className="visually-hidden"> “{task.title}”</span>
          </button>
        </div>
      </div>
      {editing ? (
        <form
          className="task-edit"
          onSubmit={save}
          onKeyDown={onKeyDown}
          aria-label={`Edit “${task.title}”`}
          noValidate
        >
          {conflict === undefined ? null : (
            <div className="conflict" role="alert">
              <strong>Someone else changed this task first</strong> (now version {conflict.version}): “
              {conflict.title}”, {conflict.priority} priority
              {conflict.due === null || conflict.due === undefined ? "" : `, due ${formatDue(conflict.due)}`}
              {conflict.completed ? ", completed" : ""}. Your own edits are laid over it below: save again to
              apply them, or cancel to keep it as it is.
            </div>
          )}
          <TextField
            id={`${id}-title`}
            label="Title"
            inputRef={titleInput}
            value={draft.title}
            maxLength={200}
            onChange={(title) => setDraft({ ...draft, title })}
          />
          <div className="field">
            <label htmlFor={`${id}-description`}>Description</label>
            <textarea
              id={`${id}-description`}
              value={draft.description}
              rows={3}
              maxLength={2000}
              onChange={(event) => setDraft({ ...draft, description: event.target.value })}
            />
          </div>
          <div className="edit-row">
            <TextField
              id={`${id}-due`}
              label="Due"
              value={draft.due}
              onChange={(due) => setDraft({ ...draft, due })}
            />
            <PriorityField
              id={`${id}-priority`}
              value={draft.priority}
              onChange={(priority) => setDraft({ ...draft, priority })}
            />
            <TextField
              id={`${id}-tags`}
              label="Tags"
              grow
              value={draft.tags}
              onChange={(tags) => setDraft({ ...draft, tags })}
            />
          </div>
          {error === undefined ? null : (
            <p className="field-error" role="alert">
              {error}
            </p>
          )}
          <div className="edit-actions">
            <button type="submit" className="primary" disabled={busy}>
              Save
            </button>
            <button type="button" onClick={stopEdit}>
              Cancel
            </button>
          </div>
        </form>
      ) : null}
    </li>
  )
}

/** A task in the trash: nothing to do with it but bring it back. */
const TrashedItem = ({ task, onRestore }: { task: Task; onRestore: (task: Task) => void }) => (
  <li id={`task-${task.id}`} className="task trashed" tabIndex={-1}>
    <div className="task-row">
      <div className="task-main">
        <span className="task-title">{task.title}</span>
        <span className="task-meta">
          <span className={`badge priority-${task.priority}`}>{task.priority}</span>
          <span className="muted">#{task.id}</span>
        </span>
      </div>
      <div className="task-actions">
        <button type="button" onClick={() => onRestore(task)}>
          Restore<span className="visually-hidden"> “{task.title}”</span>
        </button>
      </div>
    </div>
  </li>
)

const INITIAL_FILTERS: TaskFilters = {
  status: "all",
  due: "",
  priority: "",
  tag: "",
  query: "",
  sort: "created_at",
  order: ""
}

export interface TasksProps {
  readonly capabilities: Capabilities
  readonly notify: Notify
  /** Changes whenever something else (the agent) changed tasks, to reload the list. */
  readonly refreshKey: number
}

export const Tasks = ({ capabilities, notify, refreshKey }: TasksProps) => {
  const [filters, setFilters] = useState(INITIAL_FILTERS)
  const [tasks, setTasks] = useState<ReadonlyArray<Task>>([])
  const [cursor, setCursor] = useState<string | null>(null)
  const [loading, setLoading] = useState(false)
  const [loaded, setLoaded] = useState(false)
  const [error, setError] = useState<string>()
  const sentinel = useRef<HTMLButtonElement>(null)
  const generation = useRef(0)

  const loadFirst = useCallback(async (current: TaskFilters) => {
    const mine = ++generation.current
    setLoading(true)
    try {
      const page = await api.listTasks(current, undefined)
      if (mine !== generation.current) return
      setTasks(page.items)
      setCursor(page.next_cursor)
      setError(undefined)
    } catch (failure) {
      if (mine === generation.current) setError(describeError(failure))
    } finally {
      if (mine === generation.current) {
        setLoading(false)
        setLoaded(true)
      }
    }
  }, [])

  const loadMore = useCallback(async () => {
    if (cursor === null || loading) return
    const mine = generation.current
    setLoading(true)
    try {
      const page = await api.listTasks(filters, cursor)
      if (mine !== generation.current) return
      setTasks((current) => [
        ...current,
        ...page.items.filter((task) => !current.some((t) => t.id === task.id))
      ])
      setCursor(page.next_cursor)
    } catch (failure) {
      setError(describeError(failure))
    } finally {
      if (mine === generation.current) setLoading(false)
    }
  }, [cursor, loading, filters])

  // biome-ignore lint/correctness/useExhaustiveDependencies: refreshKey is the signal to reload
  useEffect(() => {
    void loadFirst(filters)
  }, [filters, refreshKey, loadFirst])

  useEffect(() => {
    const target = sentinel.current
    if (target === null) return
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting)) void loadMore()
    })
    observer.observe(target)
    return () => observer.disconnect()
  }, [loadMore])

  const replace = useCallback((task: Task) => {
    setTasks((current) => current.map((each) => (each.id === task.id ? task : each)))
  }, [])

  // Changes made elsewhere, as the event stream reports them. A task on screen is read again
  // when the event is newer than what is shown (so this tab's own changes, already shown, cost
  // nothing); a task not on screen may now belong to it, so the first page is loaded again,
  // unless the person has scrolled further, where a reload would take their place away.
  // While a row shows a write ahead of its answer (a checkbox just clicked), news of that task
  // waits: a read answered in between would put the row back as it was before the click.
  const shown = useRef({ tasks, filters })
  useEffect(() => {
    shown.current = { tasks, filters }
  }, [tasks, filters])
  const writing = useRef(new Map<number, number>())
  const missed = useRef(new Set<number>())
  const drop = useCallback(
    (id: number) => setTasks((current) => current.filter((each) => each.id !== id)),
    []
  )
  const readAgain = useCallback(
    (id: number) => {
      api.readTask(id).then(
        (fresh) => {
          if ((writing.current.get(id) ?? 0) > 0) {
            missed.current.add(id)
            return
          }
          // An older read answered late never replaces a newer state.
          setTasks((current) =>
            current.map((each) => (each.id === id && fresh.version >= each.version ? fresh : each))
          )
        },
        (failure) => {
          if (failure instanceof ApiError && failure.status === 404) drop(id)
        }
      )
    },
    [drop]
  )
  const shownAhead: Tracker = useCallback(
    async (id, write) => {
      writing.current.set(id, (writing.current.get(id) ?? 0) + 1)
      try {
        return await write()
      } finally {
        const left = (writing.current.get(id) ?? 1) - 1
        if (left > 0) writing.current.set(id, left)
        else {
          writing.current.delete(id)
          if (missed.current.delete(id)) readAgain(id)
        }
      }
    },
    [readAgain]
  )
  useEffect(() => {
    let reload: ReturnType<typeof setTimeout> | undefined
    const stop = watchTaskEvents((event) => {
      if (event.type === "task.reminder") return
      const { tasks: onScreen, filters: current } = shown.current
      const task = onScreen.find((each) => each.id === event.task_id)
      if (task === undefined) {
        if (onScreen.length > PAGE_SIZE) return
        // A burst of changes (a batch, an agent's steps) is one reload.
        clearTimeout(reload)
        reload = setTimeout(() => void loadFirst(shown.current.filters), 150)
        return
      }
      if (current.status === "trashed") {
        // A trashed task changes only by leaving the trash.
        if (event.type === "task.restored" || event.type === "task.purged") drop(task.id)
        return
      }
      // A delete leaves the version as it was, so it is not judged by it; when it was this
      // tab's own, the task is leaving the list anyway.
      if (event.type === "task.deleted" || event.type === "task.purged") {
        drop(task.id)
        return
      }
      if ((writing.current.get(task.id) ?? 0) > 0) {
        missed.current.add(task.id)
        return
      }
      if (event.task_version > task.version) readAgain(task.id)
    })
    return () => {
      stop()
      clearTimeout(reload)
    }
  }, [loadFirst, readAgain, drop])

  const remove = useCallback(
    async (task: Task) => {
      try {
        await api.deleteTask(task.id)
        setTasks((current) => current.filter((each) => each.id !== task.id))
        notify({
          text: `Deleted “${task.title}”.`,
          tone: "info",
          ...(capabilities.restore
            ? {
                action: {
                  label: "Undo",
                  run: () => {
                    api
                      .restoreTask(task.id)
                      .then((restored) => {
                        notify({ text: `Restored “${restored.title}”.`, tone: "info" })
                        void loadFirst(filters)
                      })
                      .catch((failure: unknown) => notify({ text: describeError(failure), tone: "error" }))
                  }
                }
              }
            : {})
        })
      } catch (failure) {
        notify({ text: describeError(failure), tone: "error" })
      }
    },
    [capabilities.restore, notify, loadFirst, filters]
  )

  const restoreFromTrash = useCallback(
    async (task: Task) => {
      try {
        const restored = await api.restoreTask(task.id)
        setTasks((current) => current.filter((each) => each.id !== task.id))
        notify({ text: `Restored “${restored.title}”.`, tone: "info" })
      } catch (failure) {
        notify({ text: describeError(failure), tone: "error" })
      }
    },
    [notify]
  )

  const trashView = filters.status === "trashed"
  const filtered =
    filters.status !== "all" ||
    filters.due !== "" ||
    filters.priority !== "" ||
    filters.tag !== "" ||
    filters.query !== ""
  return (
    <section className="tasks" aria-labelledby="tasks-heading">
      <h2 id="tasks-heading">Tasks</h2>
      <QuickAdd onCreated={() => void loadFirst(filters)} notify={notify} />
      <Filters filters={filters} onChange={setFilters} trash={capabilities.restore} />
      {error === undefined ? null : (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
      <ul className="task-list" aria-label="Task list" aria-busy={loading}>
        {tasks.map((task) =>
          trashView ? (
            <TrashedItem key={task.id} task={task} onRestore={(each) => void restoreFromTrash(each)} />
          ) : (
            <TaskItem
              key={task.id}
              task={task}
              onReplace={replace}
              onDelete={remove}
              notify={notify}
              shownAhead={shownAhead}
            />
          )
        )}
      </ul>
      {loaded && tasks.length === 0 && error === undefined ? (
        <p className="empty">
          {trashView
            ? "The trash is empty."
            : filtered
              ? "No task matches these filters."
              : "No tasks yet: add one above."}
        </p>
      ) : null}
      {cursor === null ? null : (
        <button type="button" ref={sentinel} className="load-more" onClick={() => void loadMore()}>
          {loading ? "Loading…" : "Load more"}
        </button>
      )}
    </section>
  )
}
