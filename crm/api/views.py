from rest_framework import viewsets

from ..models import Customer, Event, Order
from .serializers import CustomerSerializer, EventSerializer, OrderSerializer


class CustomerViewSet(viewsets.ModelViewSet):
    queryset = Customer.objects.all()
    serializer_class = CustomerSerializer
    search_fields = ["email", "name", "external_id"]


class OrderViewSet(viewsets.ModelViewSet):
    queryset = Order.objects.select_related("customer")
    serializer_class = OrderSerializer


class EventViewSet(viewsets.ModelViewSet):
    queryset = Event.objects.all()
    serializer_class = EventSerializer
