import websocket from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';
import { subscriptionDeliveryAccess } from '../access/door.js';
import type { SubscriptionDelivery } from '../exchange/delivery.js';
import { badRequest, notFound } from '../fhir/outcome.js';
import { WEBSOCKET_PATH, bindingTokenHash } from '../rest/subscriptions.js';
import type { Database } from '../store/driver.js';
import { Repository } from '../store/repository.js';

/**
 * The websocket channel (https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/channels.html#websockets):
 * a client connects, sends `bind-with-token <token>` with a token from
 * `Subscription/[id]/$get-ws-binding-token`, gets the handshake Bundle, then every notification
 * Bundle of that Subscription the delivery worker sends. A bad or used token gets an
 * OperationOutcome and the socket is closed.
 */
export async function registerSubscriptionWebsocket(app: FastifyInstance, db: Database, delivery: SubscriptionDelivery): Promise<void> {
  await app.register(websocket);
  app.get(WEBSOCKET_PATH, { websocket: true }, (socket) => {
    const bound: string[] = [];
    socket.on('message', (data: Buffer) => {
      const token = /^bind-with-token\s+(\S+)$/.exec(data.toString('utf8').trim())?.[1];
      const refuse = (text: string) => {
        const error = token ? notFound(text) : badRequest(text);
        socket.send(JSON.stringify(error.outcome));
        socket.close(1008, 'policy violation');
      };
      if (!token) return refuse(`Send "bind-with-token <token>", the token from Subscription/[id]/$get-ws-binding-token`);
      void new Repository(db, subscriptionDeliveryAccess()).subscriptions
        .redeemBinding(bindingTokenHash(token))
        .then(async (id) => {
          if (!id) return refuse(`The token is not valid, was used or has expired`);
          bound.push(id);
          await delivery.bind(id, socket);
        })
        .catch(() => refuse(`The token could not be checked; ask for another`));
    });
    socket.on('close', () => {
      for (const id of bound) delivery.unbind(id, socket);
    });
  });
}
