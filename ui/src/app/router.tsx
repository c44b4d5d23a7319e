// Every screen is its own chunk, loaded when its route is first visited.
import { createBrowserRouter, type RouteObject } from "react-router";
import { OfficeLayout } from "./OfficeLayout";
import { AuthLayout } from "./AuthLayout";
import { RouteError } from "./RouteError";

const routes: RouteObject[] = [
  {
    element: <AuthLayout />,
    errorElement: <RouteError />,
    children: [
      { path: "sign-in", lazy: () => import("../features/auth/SignIn").then((m) => ({ Component: m.SignIn })) },
      { path: "sign-up", lazy: () => import("../features/auth/SignUp").then((m) => ({ Component: m.SignUp })) },
      {
        path: "forgot-password",
        lazy: () => import("../features/auth/ForgotPassword").then((m) => ({ Component: m.ForgotPassword })),
      },
      {
        path: "reset-password",
        lazy: () => import("../features/auth/ResetPassword").then((m) => ({ Component: m.ResetPassword })),
      },
      {
        path: "accept-invitation",
        lazy: () => import("../features/auth/AcceptInvitation").then((m) => ({ Component: m.AcceptInvitation })),
      },
    ],
  },
  // The public request form: no sign-in, no office chrome; may be framed.
  {
    path: "request/:slug",
    errorElement: <RouteError />,
    lazy: () => import("../features/requests/PublicRequestForm").then((m) => ({ Component: m.PublicRequestForm })),
  },
  // The client hub: reached by the signed links in emails, no login, its own frame.
  {
    path: "hub",
    errorElement: <RouteError />,
    children: [
      { path: "quotes/:id", lazy: () => import("../features/hub/HubQuotePage").then((m) => ({ Component: m.HubQuotePage })) },
      { path: "invoices/:id", lazy: () => import("../features/hub/HubInvoicePage").then((m) => ({ Component: m.HubInvoicePage })) },
      { path: "clients/:id", lazy: () => import("../features/hub/HubClientPage").then((m) => ({ Component: m.HubClientPage })) },
    ],
  },
  {
    path: "/",
    element: <OfficeLayout />,
    errorElement: <RouteError />,
    children: [
      { index: true, lazy: () => import("../features/dashboard/Dashboard").then((m) => ({ Component: m.Dashboard })) },
      { path: "clients", lazy: () => import("../features/clients/ClientList").then((m) => ({ Component: m.ClientList })) },
      { path: "clients/new", lazy: () => import("../features/clients/ClientEdit").then((m) => ({ Component: m.ClientNew })) },
      { path: "clients/:id", lazy: () => import("../features/clients/ClientPage").then((m) => ({ Component: m.ClientPage })) },
      { path: "clients/:id/edit", lazy: () => import("../features/clients/ClientEdit").then((m) => ({ Component: m.ClientEdit })) },
      { path: "requests", lazy: () => import("../features/requests/RequestList").then((m) => ({ Component: m.RequestList })) },
      { path: "requests/:id", lazy: () => import("../features/requests/RequestPage").then((m) => ({ Component: m.RequestPage })) },
      { path: "quotes", lazy: () => import("../features/quotes/QuoteList").then((m) => ({ Component: m.QuoteList })) },
      { path: "quotes/new", lazy: () => import("../features/quotes/QuoteBuilder").then((m) => ({ Component: m.QuoteNew })) },
      { path: "quotes/:id", lazy: () => import("../features/quotes/QuotePage").then((m) => ({ Component: m.QuotePage })) },
      { path: "quotes/:id/edit", lazy: () => import("../features/quotes/QuoteBuilder").then((m) => ({ Component: m.QuoteEdit })) },
      { path: "jobs", lazy: () => import("../features/jobs/JobList").then((m) => ({ Component: m.JobList })) },
      { path: "jobs/new", lazy: () => import("../features/jobs/JobNew").then((m) => ({ Component: m.JobNew })) },
      { path: "jobs/:id/edit", lazy: () => import("../features/jobs/JobEdit").then((m) => ({ Component: m.JobEdit })) },
      { path: "jobs/:id", lazy: () => import("../features/jobs/JobPage").then((m) => ({ Component: m.JobPage })) },
      { path: "schedule", lazy: () => import("../features/schedule/Schedule").then((m) => ({ Component: m.Schedule })) },
      { path: "invoices", lazy: () => import("../features/invoices/InvoiceList").then((m) => ({ Component: m.InvoiceList })) },
      { path: "invoices/new", lazy: () => import("../features/invoices/InvoiceNew").then((m) => ({ Component: m.InvoiceNew })) },
      { path: "invoices/ready", lazy: () => import("../features/invoices/ReadyToInvoice").then((m) => ({ Component: m.ReadyToInvoice })) },
      { path: "invoices/aging", lazy: () => import("../features/invoices/Aging").then((m) => ({ Component: m.Aging })) },
      { path: "invoices/:id", lazy: () => import("../features/invoices/InvoicePage").then((m) => ({ Component: m.InvoicePage })) },
      { path: "reports", lazy: () => import("../features/reports/Reports").then((m) => ({ Component: m.Reports })) },
      { path: "settings/*", lazy: () => import("../features/settings/Settings").then((m) => ({ Component: m.Settings })) },
      { path: "*", lazy: () => import("../features/shell/NotFound").then((m) => ({ Component: m.NotFound })) },
    ],
  },
];

export const router = createBrowserRouter(routes);
