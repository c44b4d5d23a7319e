import { useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate, useParams } from "react-router";
import { Icon } from "../../components/Icon";
import { ErrorState, PageHeader, Spinner } from "../../components/States";
import { createClient, updateClient, useClient } from "./api";
import { ClientForm } from "./ClientForm";

export function ClientNew() {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  return (
    <>
      <nav className="breadcrumb" aria-label="Breadcrumb">
        <Link to="/clients">
          <Icon name="back" size={14} /> Clients
        </Link>
      </nav>
      <PageHeader title="New client" />
      <ClientForm
        submitLabel="Save client"
        onCancel={() => navigate(-1)}
        onSubmit={async (input) => {
          const client = await createClient(input);
          queryClient.setQueryData(["clients", client.id], client);
          await queryClient.invalidateQueries({ queryKey: ["clients", "list"] });
          navigate(`/clients/${client.id}`, { replace: true });
        }}
      />
    </>
  );
}

export function ClientEdit() {
  const { id = "" } = useParams();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const client = useClient(id);
  if (client.isPending) return <Spinner label="Loading client" />;
  if (client.isError) return <ErrorState error={client.error} onRetry={() => void client.refetch()} />;
  return (
    <>
      <nav className="breadcrumb" aria-label="Breadcrumb">
        <Link to={`/clients/${id}`}>
          <Icon name="back" size={14} /> {client.data.display_name}
        </Link>
      </nav>
      <PageHeader title={`Edit ${client.data.display_name}`} />
      {/* Not keyed by version: a refetch while editing must not replace what is typed
          (a stale save says who changed what; ClientForm). */}
      <ClientForm
        client={client.data}
        submitLabel="Save changes"
        onCancel={() => navigate(`/clients/${id}`)}
        onSubmit={async (input) => {
          const saved = await updateClient(id, input);
          queryClient.setQueryData(["clients", id], saved);
          await queryClient.invalidateQueries({ queryKey: ["clients", "list"] });
          navigate(`/clients/${id}`, { replace: true });
        }}
      />
    </>
  );
}
