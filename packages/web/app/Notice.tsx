/**
 * The one place the app tells a person what happened: a polite live region, so screen
 * readers announce it, with an optional action (Undo, Retry) that is keyboard reachable.
 */
export interface NoticeState {
  readonly text: string
  readonly tone: "info" | "error"
  readonly action?: { readonly label: string; readonly run: () => void }
}

export const Notice = ({ notice, onDismiss }: { notice: NoticeState | undefined; onDismiss: () => void }) => (
  <div className="notice-area" role="status" aria-live="polite">
    {notice === undefined ? null : (
      <div className={`notice notice-${notice.tone}`}>
        <span>{notice.text}</span>
        {notice.action === undefined ? null : (
          <button
            type="button"
            onClick={() => {
              notice.action?.run()
              onDismiss()
            }}
          >
            {notice.action.label}
          </button>
        )}
        <button type="button" className="quiet" aria-label="Dismiss message" onClick={onDismiss}>
          ×
        </button>
      </div>
    )}
  </div>
)
