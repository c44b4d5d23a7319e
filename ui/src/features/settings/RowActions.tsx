/** A settings table row's Edit and Delete buttons, named for screen readers. */
export function RowActions({ name, onEdit, onDelete }: { name: string; onEdit: () => void; onDelete: () => void }) {
  return (
    <td className="table__actions">
      <button type="button" className="link-button" onClick={onEdit}>
        Edit<span className="visually-hidden"> {name}</span>
      </button>
      <button type="button" className="link-button link-button--danger" onClick={onDelete}>
        Delete<span className="visually-hidden"> {name}</span>
      </button>
    </td>
  );
}
