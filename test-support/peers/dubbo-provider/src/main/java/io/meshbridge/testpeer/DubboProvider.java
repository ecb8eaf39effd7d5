package io.meshbridge.testpeer;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

import org.apache.dubbo.config.ApplicationConfig;
import org.apache.dubbo.config.ProtocolConfig;
import org.apache.dubbo.config.ReferenceConfig;
import org.apache.dubbo.config.RegistryConfig;
import org.apache.dubbo.config.ServiceConfig;
import org.apache.dubbo.config.bootstrap.DubboBootstrap;
import org.apache.dubbo.rpc.service.GenericException;
import org.apache.dubbo.rpc.service.GenericService;

/**
 * A real Dubbo 3.3 provider for the ZooKeeper adapter's tests. Every service is a generic service,
 * so any interface name can be registered without a Java interface.
 *
 * System properties:
 *   zk        ZooKeeper address, host:port (required)
 *   app       application name (default meshbridge-demo-provider)
 *   dubboPort port of the dubbo protocol (required)
 *   triPort   port of the tri protocol; absent or 0: dubbo only
 *   services  comma-separated interface[:group[:version]] (default org.apache.dubbo.demo.DemoService;
 *             empty: export nothing)
 *   references comma-separated interface[:group[:version]] this application consumes (generic
 *             references, check=false, referred at start so Dubbo registers them as consumers);
 *             default none
 *
 * Binds and registers 127.0.0.1 (DUBBO_IP_TO_BIND / DUBBO_IP_TO_REGISTRY set by the starter).
 * Prints "MESHBRIDGE-PROVIDER-READY" once every service is exported and registered; SIGTERM
 * unregisters and exits (Dubbo's shutdown hook).
 */
public final class DubboProvider {
    private DubboProvider() {}

    public static void main(String[] args) throws Exception {
        String zk = required("zk");
        String app = System.getProperty("app", "meshbridge-demo-provider");
        int dubboPort = Integer.parseInt(required("dubboPort"));
        int triPort = Integer.parseInt(System.getProperty("triPort", "0"));
        String services = System.getProperty("services", "org.apache.dubbo.demo.DemoService");
        String references = System.getProperty("references", "");

        ApplicationConfig application = new ApplicationConfig(app);
        application.setQosEnable(false);
        application.setRegisterMode("all");
        application.setMetadataType("local");

        RegistryConfig registry = new RegistryConfig("zookeeper://" + zk);
        registry.setTimeout(10000);

        List<ProtocolConfig> protocols = new ArrayList<>();
        ProtocolConfig dubbo = new ProtocolConfig("dubbo", dubboPort);
        dubbo.setHost("127.0.0.1");
        protocols.add(dubbo);
        if (triPort > 0) {
            ProtocolConfig tri = new ProtocolConfig("tri", triPort);
            tri.setHost("127.0.0.1");
            protocols.add(tri);
        }

        DubboBootstrap bootstrap = DubboBootstrap.getInstance()
                .application(application)
                .registry(registry)
                .protocols(protocols);
        for (String spec : services.split(",")) {
            if (spec.trim().isEmpty()) continue;
            String[] parts = spec.trim().split(":");
            ServiceConfig<GenericService> service = new ServiceConfig<>();
            service.setInterface(parts[0]);
            service.setGeneric("true");
            service.setRef(new Echo(parts[0]));
            if (parts.length > 1 && !parts[1].isEmpty()) service.setGroup(parts[1]);
            if (parts.length > 2 && !parts[2].isEmpty()) service.setVersion(parts[2]);
            bootstrap.service(service);
        }
        List<ReferenceConfig<GenericService>> refs = new ArrayList<>();
        for (String spec : references.split(",")) {
            if (spec.trim().isEmpty()) continue;
            String[] parts = spec.trim().split(":");
            ReferenceConfig<GenericService> ref = new ReferenceConfig<>();
            ref.setInterface(parts[0]);
            ref.setGeneric("true");
            ref.setCheck(false);
            if (parts.length > 1 && !parts[1].isEmpty()) ref.setGroup(parts[1]);
            if (parts.length > 2 && !parts[2].isEmpty()) ref.setVersion(parts[2]);
            bootstrap.reference(ref);
            refs.add(ref);
        }
        bootstrap.start();
        for (ReferenceConfig<GenericService> ref : refs) ref.get();
        System.out.println("MESHBRIDGE-PROVIDER-READY");
        System.out.flush();
        new CountDownLatch(1).await();
    }

    private static String required(String name) {
        String v = System.getProperty(name);
        if (v == null || v.isEmpty()) throw new IllegalArgumentException("system property " + name + " is required");
        return v;
    }

    /** Answers every call with "<interface>.<method>". */
    private static final class Echo implements GenericService {
        private final String iface;

        Echo(String iface) {
            this.iface = iface;
        }

        @Override
        public Object $invoke(String method, String[] parameterTypes, Object[] args) throws GenericException {
            return iface + "." + method;
        }
    }
}
