// One dead-letter admin over several transports: events' subscriptions on Kafka, a command's
// owner on RabbitMQ. Each subscription's calls go to the admin of the transport it consumes from.
import { ConfigurationError, type DeadLetterAdmin } from '@eda/core';

/**
 * A `DeadLetterAdmin` that sends each call to the admin named for its subscription.
 * `close()` closes every admin once.
 * @throws ConfigurationError (from each call) for a subscription no route names.
 */
export function routeDeadLetterAdmins(
  routes: Readonly<Record<string, DeadLetterAdmin>>,
): DeadLetterAdmin {
  const adminOf = (subscription: string): DeadLetterAdmin => {
    const admin = Object.hasOwn(routes, subscription) ? routes[subscription] : undefined;
    if (!admin)
      throw new ConfigurationError(
        `No dead-letter admin for subscription "${subscription}": the routes name ${Object.keys(routes).join(', ') || 'none'}.`,
      );
    return admin;
  };
  return {
    list: async (subscription, options) => adminOf(subscription).list(subscription, options),
    get: async (subscription, handle) => adminOf(subscription).get(subscription, handle),
    redrive: async (subscription, selection) =>
      adminOf(subscription).redrive(subscription, selection),
    discard: async (subscription, handle) => adminOf(subscription).discard(subscription, handle),
    async close() {
      await Promise.all([...new Set(Object.values(routes))].map((admin) => admin.close()));
    },
  };
}
