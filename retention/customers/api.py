"""REST API: customers and their sales."""
from __future__ import annotations

from flask import abort, g, jsonify
from flask_smorest import Blueprint
from sqlalchemy import select

from retention.customers import service
from retention.customers.models import Customer
from retention.customers.schemas import CustomerListArgs, CustomerOut, CustomerPage
from retention.extensions import db
from retention.staff import policy
from retention.staff.access import api_roles

blueprint = Blueprint("customers_api", __name__, url_prefix="/api/v1/customers",
                      description="Customers, by the sender's customer id")

STAFF = ("onboarding", "marketing", "print")


@blueprint.route("/")
@api_roles(*STAFF)
@blueprint.arguments(CustomerListArgs, location="query")
@blueprint.response(200, CustomerPage)
def list_customers(args):
    """Customers matching `q`, 50 a page; each with the fields the caller's role sees (print: no contact details)."""
    try:
        items, total = service.search(db.session, args["q"], args["page"], 50)
    except service.InvalidSearch as exc:
        from flask_smorest import abort as smorest_abort

        smorest_abort(422, message=str(exc))
    data = CustomerPage().dump({"items": items, "total": total, "page": args["page"]})
    data["items"] = [policy.customer_data(g.api_user, item) for item in data["items"]]
    return jsonify(data)


@blueprint.route("/<external_id:customer_id>", merge_slashes=False)
@api_roles(*STAFF)
@blueprint.response(200, CustomerOut)
def get_customer(customer_id: str):
    """One customer with its sales, as much as the caller's role sees (print: no contact details or sales);
    404 when the id is unknown. The id may hold `/`."""
    customer = db.session.scalar(select(Customer).where(Customer.external_id == customer_id))
    if customer is None:
        abort(404, description=f"customer: no customer with id {customer_id!r}")
    return jsonify(policy.customer_data(g.api_user, CustomerOut().dump(customer)))
